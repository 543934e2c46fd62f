using SharpSeg.Data.Loading;
using SharpSeg.Models;
using SharpSeg.Nn;
using SharpSeg.Nn.Losses;
using SharpSeg.Nn.Optim;
using SharpSeg.Training.Tests.Segmenter;

namespace SharpSeg.Training.Tests.Zoo;

/// <summary>A registered torchvision VGG backbone trains: a 1×1 head on its reduction-4 feature, a few SGD steps on one synthetic batch.</summary>
public class VggTrainingTests
{
    [Fact]
    public void Vgg11BnWithAOneByOneHeadLowersTheLoss()
    {
        Engine.ManualSeed(3);
        var model = new VggHeadNet(ModelRegistry.CreateBackbone("vgg11_bn"), numClasses: 3);
        var dataset = TestData.Synthetic(4, seed: 19);
        var batch = Batch.Collate(Enumerable.Range(0, 4).Select(dataset.Load).ToArray(), [0, 1, 2, 3]);
        var (images, labels) = (batch.ImageTensor(), batch.LabelTensor());
        var loss = new CrossEntropyLoss();
        var optimizer = new Sgd(model.Parameters(), learningRate: 0.02, momentum: 0.9);
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

    /// <summary>The smallest segmentation model on a backbone: a 1×1 convolution on the reduction-4 feature.</summary>
    private sealed class VggHeadNet : SegmentationModel
    {
        private readonly IBackbone _backbone;
        private readonly int _feature;
        private readonly Conv2d _head;

        public VggHeadNet(IBackbone backbone, int numClasses) : base(new ModelOptions(numClasses))
        {
            _backbone = backbone;
            Child("backbone", backbone.Module);
            _feature = backbone.FeatureIndex(4);
            _head = Child("head", new Conv2d(backbone.FeatureInfo[_feature].Channels, numClasses, 1));
        }

        public override int SizeDivisor => _backbone.OutputStride;

        protected override IReadOnlyList<Tensor> ForwardLogits(Tensor x) => [_head.Forward(_backbone.ForwardFeatures(x)[_feature])];
    }
}
