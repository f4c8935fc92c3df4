package com.facebook.jni;

import com.facebook.proguard.annotations.DoNotStrip;

/** A native std::system_error with its error code (see CppException). */
@DoNotStrip
public class CppSystemErrorException extends CppException {
    private final int errorCode;

    @DoNotStrip
    public CppSystemErrorException(String message, int errorCode) {
        super(message);
        this.errorCode = errorCode;
    }

    public int getErrorCode() {
        return errorCode;
    }
}
