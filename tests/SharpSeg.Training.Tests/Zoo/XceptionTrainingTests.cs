using SharpSeg.Data.Datasets;
using SharpSeg.Data.Loading;
using SharpSeg.Data.Synthetic;
using SharpSeg.Data.Transforms;
using SharpSeg.Models;
using SharpSeg.Nn;
using SharpSeg.Nn.Losses;
using SharpSeg.Nn.Optim;

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
        var data = new SyntheticDataset(new SyntheticOptions(Count: 2, Height: 32, Width: 32, NumClasses: 3, Seed: 5, MaxShapes: 3),
            DatasetMode.Train, new Compose(new Normalize()));
        var batch = Batch.Collate([data.Load(0), data.Load(1)], [0, 1]);
        var images = batch.ImageTensor();
        var labels = batch.LabelTensor();
        var criterion = new CrossEntropyLoss();
        var sgd = new Sgd(model.Parameters(), learningRate: 0.01, momentum: 0.9);
        model.Train();

        var losses = new List<float>();
        for (int step = 0; step < 3; step++)
        {
            sgd.ZeroGrad();
            var loss = criterion.Forward(model.Forward(images)[0], labels);
            losses.Add(loss.Item());
            loss.Backward();
            sgd.Step();
        }
        using (GradMode.NoGrad()) losses.Add(criterion.Forward(model.Forward(images)[0], labels).Item());

        Assert.All(losses, l => Assert.True(float.IsFinite(l)));
        Assert.True(losses[^1] < losses[0], $"losses {string.Join(", ", losses)}");
    }
}
