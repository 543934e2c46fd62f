using SharpSeg.Data.Datasets;
using SharpSeg.Data.Synthetic;
using SharpSeg.Data.Transforms;
using SharpSeg.Models;
using SharpSeg.Nn;

namespace SharpSeg.Training.Tests.Segmenter;

/// <summary>
/// A small fully convolutional network: k×k conv → BatchNorm (optional) → ReLU → dropout → k×k conv, stride 1 and
/// "same" padding everywhere, so its receptive field reaches k − 1 pixels from the output pixel and it needs no size padding.
/// </summary>
internal sealed class TinyConvNet : SegmentationModel
{
    private readonly Conv2d _conv1, _conv2;
    private readonly BatchNorm2d? _bn;
    private readonly Dropout _dropout;

    public TinyConvNet(int numClasses, int inChannels = 3, int width = 8, double dropout = 0.1, int seed = 0, int kernel = 3, bool batchNorm = true)
        : base(new ModelOptions(numClasses, inChannels))
    {
        Engine.ManualSeed(seed);
        _conv1 = Child("conv1", new Conv2d(inChannels, width, kernel, padding: kernel / 2));
        if (batchNorm) _bn = Child("bn", new BatchNorm2d(width));
        _dropout = Child("dropout", new Dropout(dropout));
        _conv2 = Child("conv2", new Conv2d(width, numClasses, kernel, padding: kernel / 2));
    }

    public override int SizeDivisor => 1;

    protected override IReadOnlyList<Tensor> ForwardLogits(Tensor x)
    {
        var y = _conv1.Forward(x);
        if (_bn is not null) y = _bn.Forward(y);
        return [_conv2.Forward(_dropout.Forward(y.Relu()))];
    }
}

internal static class TestData
{
    public static SegDataset Synthetic(int count, int seed, int size = 32, int numClasses = 3, DatasetMode mode = DatasetMode.Train) =>
        new SyntheticDataset(new SyntheticOptions(Count: count, Height: size, Width: size, NumClasses: numClasses, Seed: seed, MaxShapes: 3),
            mode, new Compose(new Normalize()));

    public static string TempFolder(string tag) => Path.Combine(Path.GetTempPath(), $"sharpseg-{tag}-" + Guid.NewGuid().ToString("N"));
}

/// <summary>
/// A fresh <see cref="TestData.TempFolder"/> path for a test that saves checkpoints (the trainer creates the folder), deleted
/// with its contents on dispose: <c>using var saveDir = new TemporaryFolder("tag");</c>.
/// </summary>
internal sealed class TemporaryFolder(string tag) : IDisposable
{
    /// <summary>The folder's full path.</summary>
    public string Path { get; } = TestData.TempFolder(tag);

    /// <summary>Deletes the folder and everything in it, if it was created.</summary>
    public void Dispose()
    {
        if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
    }
}

/// <summary>
/// <see cref="TinyConvNet"/>'s layers with a second, auxiliary head (a 1×1 conv on the hidden features), returning
/// [main, auxiliary] logits as PaddleSeg models with auxiliary losses do. No dropout, so a step's loss is a pure function.
/// </summary>
internal sealed class TwoHeadNet : SegmentationModel
{
    private readonly Conv2d _conv1, _main, _auxiliary;

    public TwoHeadNet(int numClasses, int seed = 0, IReadOnlyList<double>? lossCoefficients = null)
        : base(new ModelOptions(numClasses))
    {
        LossCoefficients = lossCoefficients;
        Engine.ManualSeed(seed);
        _conv1 = Child("conv1", new Conv2d(3, 6, 3, padding: 1));
        _main = Child("main", new Conv2d(6, numClasses, 3, padding: 1));
        _auxiliary = Child("auxiliary", new Conv2d(6, numClasses, 1));
    }

    public override int SizeDivisor => 1;

    /// <summary>The model's own coefficients (as Fast-SCNN's multi_loss_weight), or null.</summary>
    public override IReadOnlyList<double>? LossCoefficients { get; }

    protected override IReadOnlyList<Tensor> ForwardLogits(Tensor x)
    {
        var hidden = _conv1.Forward(x).Relu();
        return [_main.Forward(hidden), _auxiliary.Forward(hidden)];
    }
}
