package com.facebook.soloader.nativeloader;

/** Offline-build stand-in: loads through System.loadLibrary (see NativeLoader). */
public class SystemDelegate implements NativeLoaderDelegate {
    @Override
    public boolean loadLibrary(String shortName, int flags) {
        System.loadLibrary(shortName);
        return true;
    }
}
