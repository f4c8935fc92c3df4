package com.dynaedge.demo;

import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * Benchmark sentences when the bundle carries no sentences.txt: written for this app,
 * of the lengths real review sentences have (5 to 40 words).
 */
final class SampleSentences {
    private SampleSentences() {}

    static final List<String> ALL = Collections.unmodifiableList(Arrays.asList(
            "A quiet, patient film that earns every one of its small surprises.",
            "The plot is thin and the jokes land with a thud.",
            "I laughed, I cried, and then I checked my watch twice.",
            "Beautifully shot, but the story never finds its footing.",
            "An overlong, self-satisfied mess that mistakes noise for energy.",
            "The lead performance is so good that the clumsy script hardly matters.",
            "It is the kind of movie you forget before you reach the parking lot.",
            "Funny, warm and sharper than it first lets on.",
            "Two hours of characters explaining the plot to each other.",
            "A rare sequel that improves on the original in almost every way, from the pacing and the music "
                    + "to the way it trusts its audience to keep up.",
            "Dull.",
            "The director's best work in a decade, and one of the most moving films of the year.",
            "Even the talented cast cannot rescue dialogue this stiff.",
            "Clever, compact and surprisingly tender.",
            "By the third act I had stopped caring who survived.",
            "A small triumph of tone: sad, silly and hopeful at once."));
}
