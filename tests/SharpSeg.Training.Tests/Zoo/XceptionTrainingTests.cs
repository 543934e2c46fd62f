using SharpSeg.Models;
using SharpSeg.Nn;
using SharpSeg.Nn.Losses;

namespace SharpSeg.Training.Tests.Zoo;

/// <summary>DeepLabV3+ on PaddleSeg's Xception41_deeplab trains: a few SGD steps on one synthetic batch lower the loss.</summary>
public class XceptionTrainingTests
{
    [Fact]
    public void DeepLabV3PlusOnXception41LowersTheLossInThreeSgdSteps()
    {
        // Xception41 has ~25 M parameters: a 32×32 batch of two keeps the three steps to a few seconds.
        Engine.ManualSeed(7);
        var model = new DeepLabV3Plus(new DeepLabV3PlusOptions(3, Backbone: "xception41_deeplab", OutputStride: 16, AsppOutChannels: 16,
            LowLevelChannels: 8, AsppDropout: 0));
        var batch = OneBatchTraining.SyntheticBatch(2, seed: 5);
        var losses = OneBatchTraining.SgdLosses(model, batch, learningRate: 0.01, steps: 3);
        using (GradMode.NoGrad()) losses.Add(new CrossEntropyLoss().Forward(model.Forward(batch.ImageTensor())[0], batch.LabelTensor()).Item());

        Assert.All(losses, l => Assert.True(float.IsFinite(l)));
        Assert.True(losses[^1] < losses[0], $"losses {string.Join(", ", losses)}");
    }
}
