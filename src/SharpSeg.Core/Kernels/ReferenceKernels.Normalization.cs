namespace SharpSeg.Kernels;

internal sealed partial class ReferenceKernels
{
    public void ChannelMeanVar(int batch, int channels, int plane, ReadOnlySpan<float> x, Span<float> mean, Span<float> variance)
    {
        double count = (double)batch * plane;
        for (int c = 0; c < channels; c++)
        {
            double sum = 0;
            for (int n = 0; n < batch; n++)
                for (int i = 0; i < plane; i++)
                    sum += x[(n * channels + c) * plane + i];
            double mu = sum / count;

            double squares = 0;
            for (int n = 0; n < batch; n++)
            {
                for (int i = 0; i < plane; i++)
                {
                    double d = x[(n * channels + c) * plane + i] - mu;
                    squares += d * d;
                }
            }
            mean[c] = (float)mu;
            variance[c] = (float)(squares / count);
        }
    }

    public void ChannelNormalize(int batch, int channels, int plane, ReadOnlySpan<float> x, ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd,
        ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, bool relu, Span<float> y)
    {
        for (int n = 0; n < batch; n++)
        {
            for (int c = 0; c < channels; c++)
            {
                double scale = gamma.IsEmpty ? 1.0 : gamma[c];
                double shift = beta.IsEmpty ? 0.0 : beta[c];
                for (int i = 0; i < plane; i++)
                {
                    int at = (n * channels + c) * plane + i;
                    double v = (x[at] - (double)mean[c]) * invStd[c] * scale + shift;
                    y[at] = (float)(relu && v < 0 ? 0 : v);
                }
            }
        }
    }

    public void BatchNormBackward(int batch, int channels, int plane, ReadOnlySpan<float> dy, ReadOnlySpan<float> x,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd, ReadOnlySpan<float> gamma,
        Span<float> dx, Span<float> dgamma, Span<float> dbeta)
    {
        double count = (double)batch * plane;
        for (int c = 0; c < channels; c++)
        {
            double sumDy = 0, sumDyXhat = 0;
            for (int n = 0; n < batch; n++)
            {
                for (int i = 0; i < plane; i++)
                {
                    int at = (n * channels + c) * plane + i;
                    sumDy += dy[at];
                    sumDyXhat += dy[at] * ((x[at] - (double)mean[c]) * invStd[c]);
                }
            }
            if (!dgamma.IsEmpty) dgamma[c] = (float)sumDyXhat;
            if (!dbeta.IsEmpty) dbeta[c] = (float)sumDy;
            if (dx.IsEmpty) continue;

            double g = gamma.IsEmpty ? 1.0 : gamma[c];
            for (int n = 0; n < batch; n++)
            {
                for (int i = 0; i < plane; i++)
                {
                    int at = (n * channels + c) * plane + i;
                    double xhat = (x[at] - (double)mean[c]) * invStd[c];
                    dx[at] = (float)(g * invStd[c] * (dy[at] - sumDy / count - xhat * sumDyXhat / count));
                }
            }
        }
    }

    public void BatchNormReluBackward(int batch, int channels, int plane, ReadOnlySpan<float> dy, ReadOnlySpan<float> reluOutput,
        ReadOnlySpan<float> x, ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd, ReadOnlySpan<float> gamma,
        Span<float> dx, Span<float> dgamma, Span<float> dbeta)
    {
        var masked = new float[dy.Length];
        for (int i = 0; i < masked.Length; i++) masked[i] = reluOutput[i] > 0f ? dy[i] : 0f;
        BatchNormBackward(batch, channels, plane, masked, x, mean, invStd, gamma, dx, dgamma, dbeta);
    }
}
