using SharpSeg.Models;
using SharpSeg.Models.Tests.Support;
using SharpSeg.Nn;
using SharpSeg.Training.Tests.Segmenter;

namespace SharpSeg.Training.Tests.Zoo;

/// <summary>
/// Pretrained weights as users have them (issue 13): a PaddleSeg model checkpoint in PaddleSeg's names (<c>_conv</c>,
/// <c>_batch_norm</c>, <c>_mean</c>, <c>_variance</c>, no <c>num_batches_tracked</c>) loads as <c>pretrainWeights</c>
/// without a conversion step, renamed by <see cref="KeyMap.PaddleSeg"/>.
/// </summary>
public sealed class ForeignPretrainedWeightsTests
{
    [Fact]
    public void A_fast_scnn_checkpoint_in_paddleseg_names_loads_as_pretrained_weights()
    {
        using var folder = new TemporaryFolder("paddleseg-checkpoint");
        Engine.ManualSeed(7);
        var reference = (FastScnn)ModelRegistry.CreateModel("fastscnn", new FastScnnOptions(3));
        var paddle = PaddleSegNames.Of(reference.StateDict());
        Directory.CreateDirectory(folder.Path);
        string file = Path.Combine(folder.Path, "model.safetensors");
        Safetensors.Save(file, paddle);
        Engine.ManualSeed(8);
        var segmenter = new Training.Segmenter((FastScnn)ModelRegistry.CreateModel("fastscnn", new FastScnnOptions(3)), "fastscnn");

        var result = segmenter.Train(1, TestData.Synthetic(2, seed: 1, size: 64), trainBatchSize: 2, saveDir: Path.Combine(folder.Path, "run"),
            pretrainWeights: file, learningRate: 1e-9);

        Assert.Equal(paddle.Count, result.PretrainedWeights!.LoadedCount);
        Assert.Empty(result.PretrainedWeights.UnexpectedKeys);
        var conv = reference.StateDict()["learning_to_downsample.conv_bn_relu.conv.weight"].ToArray();
        var loaded = segmenter.Model.StateDict()["learning_to_downsample.conv_bn_relu.conv.weight"].ToArray();
        Assert.All(conv.Zip(loaded), p => Assert.True(Math.Abs(p.First - p.Second) < 1e-6, $"{p.Second} vs {p.First}"));
    }
}
