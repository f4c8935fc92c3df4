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
}
