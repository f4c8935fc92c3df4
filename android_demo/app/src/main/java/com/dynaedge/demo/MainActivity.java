package com.dynaedge.demo;

import android.app.Activity;
import android.os.Build;
import android.os.Bundle;
import android.text.InputType;
import android.view.View;
import android.view.ViewGroup;
import android.widget.Button;
import android.widget.EditText;
import android.widget.LinearLayout;
import android.widget.ScrollView;
import android.widget.TextView;
import java.io.File;
import java.io.FileOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * One screen, built in code (platform SDK only, no layouts or AndroidX):
 * the device, the profile it matched and the sub-network chosen from the manifest (and
 * why); a text box that shows label, confidence and latency; a benchmark button that
 * times every bundled model and writes benchmark.json for `dynaedge profile import`.
 * Model work runs on a background thread. No lambdas: Debian's dx does not desugar them
 * (ART has no LambdaMetafactory), so anonymous classes it is.
 */
public class MainActivity extends Activity {
    // The offline APK carries ExecuTorch only: no registry ships LiteRT's Android libraries.
    static final Set<String> RUNNABLE = Collections.singleton("executorch");

    private TextView status;
    private TextView result;
    private BundleStore bundle;
    private Selector.Selection selection;
    private Classifier classifier;
    private DeviceMatcher.Match match;

    @Override
    protected void onCreate(Bundle savedInstanceState) {
        super.onCreate(savedInstanceState);
        LinearLayout column = new LinearLayout(this);
        column.setOrientation(LinearLayout.VERTICAL);
        column.setPadding(32, 32, 32, 32);
        status = text(column, "Loading the bundle…");
        final EditText input = new EditText(this);
        input.setHint("Type a sentence");
        input.setInputType(InputType.TYPE_CLASS_TEXT | InputType.TYPE_TEXT_FLAG_MULTI_LINE);
        column.addView(input);
        Button classify = new Button(this);
        classify.setText("Classify");
        column.addView(classify);
        result = text(column, "");
        Button bench = new Button(this);
        bench.setText("Benchmark all bundled models");
        column.addView(bench);
        text(column, "TFLite artifacts run only in the Android Studio (Gradle) build, which gets LiteRT "
                + "from Maven; this offline APK runs the ExecuTorch (.pte) files.");
        ScrollView scroll = new ScrollView(this);
        scroll.addView(column, new ViewGroup.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT,
                ViewGroup.LayoutParams.WRAP_CONTENT));
        setContentView(scroll);

        classify.setOnClickListener(new View.OnClickListener() {
            @Override
            public void onClick(View v) {
                final String text = input.getText().toString();
                background(new Runnable() {
                    @Override
                    public void run() {
                        classify(text);
                    }
                });
            }
        });
        bench.setOnClickListener(new View.OnClickListener() {
            @Override
            public void onClick(View v) {
                background(new Runnable() {
                    @Override
                    public void run() {
                        benchmark();
                    }
                });
            }
        });
        background(new Runnable() {
            @Override
            public void run() {
                load();
            }
        });
    }

    private TextView text(LinearLayout parent, String s) {
        TextView t = new TextView(this);
        t.setText(s);
        t.setTextIsSelectable(true);
        t.setPadding(0, 16, 0, 16);
        parent.addView(t);
        return t;
    }

    private void background(final Runnable work) {
        new Thread(new Runnable() {
            @Override
            public void run() {
                try {
                    work.run();
                } catch (Throwable e) {  // show it: a phone user has no logcat
                    show(result, "Error: " + e);
                }
            }
        }).start();
    }

    private void show(final TextView view, final String s) {
        runOnUiThread(new Runnable() {
            @Override
            public void run() {
                view.setText(s);
            }
        });
    }

    static String socModel() {
        try {  // Build.SOC_MODEL exists from API 31; read it by name so this compiles against API 23
            return String.valueOf(Build.class.getField("SOC_MODEL").get(null));
        } catch (ReflectiveOperationException e) {
            return "";
        }
    }

    private synchronized void load() {
        try {
            bundle = BundleStore.open(this);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
        Set<String> profiles = new LinkedHashSet<>();
        for (BundleManifest.Choice c : bundle.manifest.choices) {
            profiles.add(c.device);
        }
        match = DeviceMatcher.match(profiles, "model", Build.MODEL, "SoC", socModel(), "hardware", Build.HARDWARE);
        selection = Selector.select(bundle.manifest, match == null ? null : match.profile, null, RUNNABLE);
        classifier = new Classifier(bundle.file(selection.artifact), bundle.manifest.seqLen, selection.artifact.maxLen);
        BundleManifest.Choice c = selection.choice;
        show(status, String.format(Locale.ROOT,
                "Device: %s %s (SoC %s, %s)\nProfile: %s\nSub-network: %s on %s, predicted %.2f ms for a %.2f ms budget"
                        + "\nWhy: %s\nModel file: %s, %s",
                Build.MANUFACTURER, Build.MODEL, socModel(), Build.SUPPORTED_ABIS[0],
                match == null ? "none matched" : match.profile + " (matched on " + match.matchedOn + ")",
                c.subnet, selection.backend, c.predictedMs, c.budgetMs, selection.reason,
                selection.artifact.path, selection.artifact.maxLen > 0
                        ? "each sentence at its own length (up to " + selection.artifact.maxLen + " tokens)"
                        : "sentences padded to " + bundle.manifest.seqLen + " tokens"));
    }

    private synchronized void classify(String text) {
        if (classifier == null) {
            show(result, "The model is not loaded yet.");
            return;
        }
        long start = System.nanoTime();
        Encoding enc = bundle.tokenizer.encode(text, bundle.manifest.seqLen);
        Classifier.Result r = classifier.classify(enc);
        double totalMs = (System.nanoTime() - start) / 1e6;
        show(result, String.format(Locale.ROOT, "%s (confidence %.1f%%)\nlatency: %.2f ms model, %.2f ms with tokenizer"
                        + "\n%d tokens, %d run%s", bundle.manifest.label(r.label), 100 * r.confidence, r.forwardMs, totalMs,
                enc.length, enc.fedLength(bundle.manifest.seqLen, selection.artifact.maxLen),
                enc.truncated ? " (truncated to seq_len)" : ""));
    }

    private synchronized void benchmark() {
        if (bundle == null) {
            show(result, "The bundle is not loaded yet.");
            return;
        }
        final List<String> log = new ArrayList<>();
        BenchmarkReport report = new BenchmarkReport(Build.MODEL, Build.MANUFACTURER, socModel(),
                Build.SUPPORTED_ABIS[0], Build.VERSION.SDK_INT, match == null ? null : match.profile);
        Benchmark.run(bundle, report, RUNNABLE, new Benchmark.Progress() {
            @Override
            public void update(String message) {
                log.add(message);
                show(result, String.join("\n", log));
            }
        });
        File dir = getExternalFilesDir(null);  // adb pull-able without root
        File out = new File(dir != null ? dir : getFilesDir(), "benchmark.json");
        try (OutputStream os = new FileOutputStream(out)) {
            os.write(report.toJson().getBytes(StandardCharsets.UTF_8));
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot write " + out + ": " + e.getMessage(), e);
        }
        log.add("wrote " + out.getAbsolutePath() + "\nimport it with: adb pull " + out.getAbsolutePath()
                + " && dynaedge profile import benchmark.json");
        show(result, String.join("\n", log));
    }
}
