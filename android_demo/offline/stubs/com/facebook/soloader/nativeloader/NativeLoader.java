package com.facebook.soloader.nativeloader;

/**
 * Offline-build stand-in for SoLoader's NativeLoader, which ExecuTorch's Java API calls
 * before its natives are used. Gradle builds get the real one from Maven; here
 * System.loadLibrary is enough because every .so sits in the APK's lib/arm64-v8a.
 */
public final class NativeLoader {
    private static NativeLoaderDelegate delegate;

    private NativeLoader() {}

    public static synchronized boolean isInitialized() {
        return delegate != null;
    }

    public static synchronized void init(NativeLoaderDelegate d) {
        if (delegate == null) {
            delegate = d;
        }
    }

    public static boolean loadLibrary(String shortName) {
        NativeLoaderDelegate d;
        synchronized (NativeLoader.class) {
            d = delegate != null ? delegate : new SystemDelegate();
        }
        return d.loadLibrary(shortName, 0);
    }
}
