package com.facebook.soloader.nativeloader;

/** Offline-build stand-in: how NativeLoader loads a library (see NativeLoader). */
public interface NativeLoaderDelegate {
    boolean loadLibrary(String shortName, int flags);
}
