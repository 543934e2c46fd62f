using SharpSeg.Core.Tests.Support;

namespace SharpSeg.Core.Tests.Autograd;

/// <summary>For a fixed thread count, a training step reproduces bit for bit (so runs and resumes reproduce).</summary>
public sealed class DeterminismTests
{
    [Fact]
    public void A_small_segmentation_step_is_bit_identical_when_repeated()
    {
        var (loss1, grads1) = Step();
        var (loss2, grads2) = Step();
        Assert.Equal(loss1, loss2);
        for (int i = 0; i < grads1.Length; i++) Assert.Equal(grads1[i], grads2[i]);
    }

    private static (float Loss, float[][] Grads) Step()
    {
        var x = GradCheck.Uniform(1, -1, 1, 2, 3, 37, 29);
        var w1 = GradCheck.Uniform(2, -0.3f, 0.3f, 40, 3, 3, 3);
        var w2 = GradCheck.Uniform(3, -0.3f, 0.3f, 40, 1, 3, 3);
        var w3 = GradCheck.Uniform(4, -0.3f, 0.3f, 5, 40, 1, 1);
        var gamma = Tensor.Ones(40);
        var beta = Tensor.Zeros(40);
        var parameters = new[] { w1, w2, w3, gamma, beta };
        foreach (var p in parameters) p.RequiresGrad = true;
        var labels = Tensor.FromArray(Enumerable.Range(0, 2 * 37 * 29).Select(i => (long)(i * 7 % 6 == 5 ? 255 : i * 7 % 5)).ToArray(), 2, 37, 29);

        var h = Functional.Conv2d(x, w1, stride: 2, padding: 1);
        h = Functional.BatchNorm(h, null, null, gamma, beta, training: true).Relu();
        h = Functional.Conv2d(h, w2, padding: 2, dilation: 2, groups: 40).Relu6();
        h = Functional.MaxPool2d(h, 3, stride: 2, padding: 1, ceilMode: true);
        var logits = Functional.Interpolate(Functional.Conv2d(h, w3), size: (37, 29), mode: InterpolationMode.Bilinear, alignCorners: false);
        var loss = Functional.CrossEntropy(logits, labels, ignoreIndex: 255);
        loss.Backward();
        return (loss.Item(), parameters.Select(p => p.Grad!.ToArray()).ToArray());
    }
}
