using SharpSeg.Models;
using SharpSeg.Nn;

namespace SharpSeg.Training.Tests.Zoo;

/// <summary>A registered torchvision VGG backbone trains: a 1×1 head on its reduction-4 feature, a few SGD steps on one synthetic batch.</summary>
public class VggTrainingTests
{
    [Fact]
    public void Vgg11BnWithAOneByOneHeadLowersTheLoss()
    {
        Engine.ManualSeed(3);
        var model = new VggHeadNet(ModelRegistry.CreateBackbone("vgg11_bn"), numClasses: 3);
        var losses = OneBatchTraining.SgdLosses(model, OneBatchTraining.SyntheticBatch(4, seed: 19), learningRate: 0.02, steps: 6);
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
