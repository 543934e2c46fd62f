namespace SharpSeg.Kernels;

internal sealed partial class ReferenceKernels
{
    public void SoftmaxForward(int outer, int dim, int inner, bool log, ReadOnlySpan<float> x, Span<float> y)
    {
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                int first = o * dim * inner + i;
                double max = double.NegativeInfinity;
                for (int d = 0; d < dim; d++) max = Math.Max(max, x[first + d * inner]);
                double sum = 0;
                for (int d = 0; d < dim; d++) sum += Math.Exp(x[first + d * inner] - max);
                for (int d = 0; d < dim; d++)
                {
                    double shifted = x[first + d * inner] - max;
                    y[first + d * inner] = (float)(log ? shifted - Math.Log(sum) : Math.Exp(shifted) / sum);
                }
            }
        }
    }

    public void SoftmaxBackward(int outer, int dim, int inner, bool log, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                int first = o * dim * inner + i;
                double dot = 0;
                for (int d = 0; d < dim; d++)
                {
                    int at = first + d * inner;
                    dot += log ? dy[at] : (double)dy[at] * y[at];
                }
                for (int d = 0; d < dim; d++)
                {
                    int at = first + d * inner;
                    dx[at] = (float)(log ? dy[at] - Math.Exp(y[at]) * dot : y[at] * (dy[at] - dot));
                }
            }
        }
    }
}
