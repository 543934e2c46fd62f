using System.IO.Compression;
using SharpSeg.Nn;
using SharpSeg.Nn.Interop;

namespace SharpSeg.Models.Tests.Backbones;

/// <summary>
/// The API's pretrained loading reads the files users already have (issue 13): torchvision's <c>mobilenet_v2</c> as
/// <c>torch.save</c> writes it, and PaddleSeg's ResNet18_vd backbone as <c>paddle.save</c> writes it, recognised and
/// renamed by <see cref="ResNetVd.PaddleSegKeyMap"/>. Files from tools/gen_nn_golden_weightfiles.py (gzipped, patterned values).
/// </summary>
public sealed class ForeignWeightFileTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("sharpseg-foreign-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Unpacked(string name)
    {
        string target = Path.Combine(_folder, name);
        using var gzip = new GZipStream(File.OpenRead(Path.Combine(AppContext.BaseDirectory, "Golden", "WeightFiles", name + ".gz")), CompressionMode.Decompress);
        using var output = File.Create(target);
        gzip.CopyTo(output);
        return target;
    }

    private static void AssertSameValues(Tensor expected, Tensor actual) =>
        Assert.Equal(expected.ToArray<float>().Select(BitConverter.SingleToInt32Bits), actual.ToArray<float>().Select(BitConverter.SingleToInt32Bits));

    [Fact]
    public void A_torchvision_pth_loads_strictly_into_the_classifier_and_its_backbone_part_into_the_headless_backbone()
    {
        string path = Unpacked("torchvision_mobilenet_v2_x0.25.pth");
        var source = WeightFile.Load(path);
        var classifier = new MobileNetV2(0.25, numClasses: 10);
        var backbone = (IPretrainedBackbone)ModelRegistry.CreateBackbone("mobilenetv2_x0.25", new BackboneOptions());

        var full = classifier.LoadPretrained(path);
        var headless = backbone.LoadPretrained(path);

        Assert.True(full.IsExactMatch);
        Assert.Equal(source.Count, full.LoadedCount);
        Assert.Empty(headless.MissingKeys);
        var state = classifier.StateDict();
        AssertSameValues(source["classifier.1.weight"], state["classifier.1.weight"]);
        AssertSameValues(source["features.18.0.weight"], state["features.18.0.weight"]);
        Assert.Equal(source["features.0.1.num_batches_tracked"].ToArray<long>(), state["features.0.1.num_batches_tracked"].ToArray<long>());
        AssertSameValues(source["features.3.conv.1.1.running_var"], ((Module)backbone).StateDict()["features.3.conv.1.1.running_var"]);
    }

    [Fact]
    public void A_paddleseg_resnet18_vd_pdparams_loads_through_the_backbone_loader_with_paddle_names_recognised()
    {
        string path = Unpacked("paddleseg_resnet18_vd.pdparams");
        var source = WeightFile.Load(path);
        var model = new ResNetVd(18, initializeWeights: false);

        var report = ((IPretrainedBackbone)model).LoadPretrained(path);

        Assert.Empty(report.MissingKeys);
        Assert.Equal(source.Count, report.LoadedCount);
        var state = model.StateDict();
        AssertSameValues(source["conv1_1._conv.weight"], state["conv1.0.weight"]);
        AssertSameValues(source["bb_0_0.short._conv.weight"], state["layer1.0.downsample.1.weight"]);
        AssertSameValues(source["bb_3_1.conv1._batch_norm._variance"], state["layer4.1.bn2.running_var"]);
        AssertSameValues(source["conv1_3._batch_norm._mean"], state["bn1.running_mean"]);
    }
}
