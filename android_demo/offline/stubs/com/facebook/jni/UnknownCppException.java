package com.facebook.jni;

import com.facebook.proguard.annotations.DoNotStrip;

/** A native exception that is not a std::exception (see CppException). */
@DoNotStrip
public class UnknownCppException extends CppException {
    @DoNotStrip
    public UnknownCppException() {
        super("Unknown");
    }

    @DoNotStrip
    public UnknownCppException(String message) {
        super(message);
    }
}
