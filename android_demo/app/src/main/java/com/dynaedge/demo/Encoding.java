package com.dynaedge.demo;

/** One tokenized input: ids and attention mask of exactly maxLen, as int32 like every dynaedge artifact takes. */
public final class Encoding {
    public final int[] inputIds;
    public final int[] attentionMask;
    /** Tokens that are not padding, [CLS] and [SEP] included. */
    public final int length;
    /** True when the text had more word pieces than fit and the tail was dropped. */
    public final boolean truncated;

    public Encoding(int[] inputIds, int[] attentionMask, int length, boolean truncated) {
        this.inputIds = inputIds;
        this.attentionMask = attentionMask;
        this.length = length;
        this.truncated = truncated;
    }

    /** [CLS] [SEP]: the shortest input a length-adaptive file takes (backends/base.py MIN_LENGTH). */
    public static final int MIN_LENGTH = 2;

    /**
     * The tokens a model file runs for this encoding: its own length for a length-adaptive file
     * (maxLen > 0, BundleManifest.Artifact.maxLen), else all seqLen of them, padding included.
     */
    public int fedLength(int seqLen, int maxLen) {
        if (inputIds.length != seqLen) {
            throw new IllegalArgumentException("encoding has " + inputIds.length + " tokens, the model takes " + seqLen);
        }
        return maxLen > 0 ? Math.max(MIN_LENGTH, Math.min(length, maxLen)) : seqLen;
    }
}
