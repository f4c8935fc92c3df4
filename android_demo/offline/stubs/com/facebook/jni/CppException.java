package com.facebook.jni;

import com.facebook.proguard.annotations.DoNotStrip;

/**
 * A C++ exception surfaced in Java. libfbjni.so (react-native 0.70.15) looks this class up
 * when it translates a native exception, but react-native 0.61.5's fbjni sources do not
 * have it, so the offline build supplies it.
 */
@DoNotStrip
public class CppException extends RuntimeException {
    @DoNotStrip
    public CppException(String message) {
        super(message);
    }
}
