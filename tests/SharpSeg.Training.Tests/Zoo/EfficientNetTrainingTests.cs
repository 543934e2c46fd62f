using SharpSeg.Models;

namespace SharpSeg.Training.Tests.Zoo;

/// <summary>DeepLabV3+ on a registered torchvision EfficientNet backbone trains: a few SGD steps on one synthetic batch lower the loss.</summary>
public class EfficientNetTrainingTests
{
    [Fact]
    public void DeepLabV3PlusOnEfficientNetB0AtOutputStride16LowersTheLoss()
    {
        Engine.ManualSeed(2);
        var model = new DeepLabV3Plus(new DeepLabV3PlusOptions(3, Backbone: "efficientnet_b0", OutputStride: 16, AsppOutChannels: 16, LowLevelChannels: 8));
        Assert.Equal(16, Assert.IsType<EfficientNet>(model.Backbone).OutputStride);
        var losses = OneBatchTraining.SgdLosses(model, OneBatchTraining.SyntheticBatch(4, seed: 17), learningRate: 0.05, steps: 6);
        Assert.All(losses, l => Assert.True(float.IsFinite(l)));
        Assert.True(losses[^1] < losses[0], $"losses {string.Join(", ", losses)}");
    }
}
