namespace SharpSeg.Nn.Losses;

/// <summary>
/// The Lovász extension of the Jaccard loss (Berman et al., CVPR 2018, Alg. 1). The loss is Σ_k e_(k)·g_k over errors
/// sorted in decreasing order, where g is the discrete gradient of the Jaccard index along that order; since g depends on
/// the labels and the order only, it is the same as Σ_i e_i·w_i with w_i = g_rank(i). These weights are computed here,
/// outside autograd, so the loss is one differentiable elementwise product and sum — the same value and gradient as
/// PaddleSeg's sort-and-gather (which also stops the gradient through the sort).
/// </summary>
internal static class LovaszExtension
{
    private const int RadixBits = 11;
    private const uint RadixMask = (1u << RadixBits) - 1;

    /// <summary>
    /// w_i for every pixel (0 at ignored ones), given each pixel's error and whether it is foreground (1) or not (0).
    /// </summary>
    public static float[] Weights(ReadOnlySpan<float> errors, ReadOnlySpan<float> foreground, LabelMap map)
    {
        var order = DescendingOrder(errors, map);

        double foregroundTotal = 0;
        foreach (int i in order) foregroundTotal += foreground[i];

        var weights = new float[errors.Length];
        double cumulativeForeground = 0, cumulativeBackground = 0, previousJaccard = 0;
        foreach (int i in order)
        {
            cumulativeForeground += foreground[i];
            cumulativeBackground += 1 - foreground[i];
            double jaccard = 1 - (foregroundTotal - cumulativeForeground) / (foregroundTotal + cumulativeBackground);
            weights[i] = (float)(jaccard - previousJaccard);
            previousJaccard = jaccard;
        }
        return weights;
    }

    /// <summary>
    /// The valid pixels ordered by decreasing error. An LSD radix sort on the float bits (three passes of 11 bits) keeps
    /// this linear: a comparison sort of the ~10⁶ pixels of a training batch, once per class, would outweigh the loss itself.
    /// Ties keep pixel order, which changes neither the loss nor, away from ties, its gradient.
    /// </summary>
    internal static int[] DescendingOrder(ReadOnlySpan<float> errors, LabelMap map)
    {
        int n = map.ValidCount;
        var keys = new uint[n];
        var order = new int[n];
        for (int i = 0, k = 0; i < errors.Length; i++)
        {
            if (!map.IsValid(i)) continue;
            uint bits = BitConverter.SingleToUInt32Bits(errors[i]);
            // Maps floats to unsigned integers of the same order, then inverts that order.
            uint ascending = (bits & 0x80000000u) != 0 ? ~bits : bits | 0x80000000u;
            keys[k] = ~ascending;
            order[k++] = i;
        }

        var keyBuffer = new uint[n];
        var orderBuffer = new int[n];
        var offsets = new int[1 << RadixBits];
        for (int shift = 0; shift < 32; shift += RadixBits)
        {
            Array.Clear(offsets);
            foreach (uint key in keys) offsets[(key >> shift) & RadixMask]++;
            for (int digit = 0, total = 0; digit < offsets.Length; digit++) (offsets[digit], total) = (total, total + offsets[digit]);
            for (int k = 0; k < n; k++)
            {
                int slot = offsets[(keys[k] >> shift) & RadixMask]++;
                keyBuffer[slot] = keys[k];
                orderBuffer[slot] = order[k];
            }
            (keys, keyBuffer) = (keyBuffer, keys);
            (order, orderBuffer) = (orderBuffer, order);
        }
        return order;
    }
}
