package androidx.annotation;

import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;

/** Offline-build stand-in for the AndroidX annotation the fbjni sources use (no AndroidX here). */
@Retention(RetentionPolicy.CLASS)
public @interface Nullable {}
