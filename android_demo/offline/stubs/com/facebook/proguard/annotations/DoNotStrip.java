package com.facebook.proguard.annotations;

import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;

/** Offline-build stand-in: marks fbjni members the native side calls (no shrinking runs here). */
@Retention(RetentionPolicy.CLASS)
public @interface DoNotStrip {}
