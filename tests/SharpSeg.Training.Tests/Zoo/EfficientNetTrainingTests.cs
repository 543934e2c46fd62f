using SharpSeg.Data.Loading;
using SharpSeg.Models;
using SharpSeg.Nn;
using SharpSeg.Nn.Losses;
using SharpSeg.Nn.Optim;
using SharpSeg.Training.Tests.Segmenter;

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
        var dataset = TestData.Synthetic(4, seed: 17);
        var batch = Batch.Collate(Enumerable.Range(0, 4).Select(dataset.Load).ToArray(), [0, 1, 2, 3]);
        var (images, labels) = (batch.ImageTensor(), batch.LabelTensor());
        var loss = new CrossEntropyLoss();
        var optimizer = new Sgd(model.Parameters(), learningRate: 0.05, momentum: 0.9);
        model.Train();
        var losses = new List<float>();
        for (int step = 0; step < 6; step++)
        {
            optimizer.ZeroGrad();
            var value = loss.Forward(model.Forward(images)[0], labels);
            value.Backward();
            optimizer.Step();
            losses.Add(value.Item());
        }
        Assert.All(losses, l => Assert.True(float.IsFinite(l)));
        Assert.True(losses[^1] < losses[0], $"losses {string.Join(", ", losses)}");
    }
}
