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
    /// <summary>
    /// w_i for every pixel (0 at ignored ones), given each pixel's error and whether it is foreground (1) or not (0).
    /// </summary>
    public static float[] Weights(ReadOnlySpan<float> errors, ReadOnlySpan<float> foreground, LabelMap map)
    {
        var order = new int[map.ValidCount];
        var keys = new float[map.ValidCount];
        for (int i = 0, k = 0; i < errors.Length; i++)
        {
            if (!map.IsValid(i)) continue;
            order[k] = i;
            keys[k++] = -errors[i];
        }
        Array.Sort(keys, order);

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
}
