using SharpSeg.Data.Loading;
using SharpSeg.Models;
using SharpSeg.Nn.Losses;
using SharpSeg.Nn.Optim;
using SharpSeg.Training.Tests.Segmenter;

namespace SharpSeg.Training.Tests.Zoo;

/// <summary>
/// Plain SGD steps on one fixed batch, for backbones too large to train through <see cref="Training.Segmenter"/> within a
/// unit test's time: the steps show that gradients flow through the whole network and lower the loss.
/// </summary>
internal static class OneBatchTraining
{
    /// <summary>The first <paramref name="count"/> samples of <see cref="TestData.Synthetic"/> as one batch.</summary>
    public static Batch SyntheticBatch(int count, int seed)
    {
        var dataset = TestData.Synthetic(count, seed);
        return Batch.Collate(Enumerable.Range(0, count).Select(dataset.Load).ToArray(), [.. Enumerable.Range(0, count)]);
    }

    /// <summary>
    /// Trains <paramref name="model"/> (in training mode) for <paramref name="steps"/> SGD steps with momentum 0.9 on the
    /// cross-entropy of its main logits over <paramref name="batch"/>; returns the loss each step descended.
    /// </summary>
    public static List<float> SgdLosses(SegmentationModel model, Batch batch, double learningRate, int steps)
    {
        var (images, labels) = (batch.ImageTensor(), batch.LabelTensor());
        var loss = new CrossEntropyLoss();
        var optimizer = new Sgd(model.Parameters(), learningRate: learningRate, momentum: 0.9);
        model.Train();
        var losses = new List<float>();
        for (int step = 0; step < steps; step++)
        {
            optimizer.ZeroGrad();
            var value = loss.Forward(model.Forward(images)[0], labels);
            value.Backward();
            optimizer.Step();
            losses.Add(value.Item());
        }
        return losses;
    }
}
