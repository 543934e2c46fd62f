using SharpSeg.Models.Tests.Support;

namespace SharpSeg.Models.Tests.HRNetFamily;

/// <summary>
/// State-dict keys, shapes and parameter counts against the lists tools/gen_models_golden_hrnet.py dumped from its PyTorch
/// twin of PaddleSeg's HRNet, and loading of PaddleSeg-named checkpoints.
/// </summary>
public class HRNetKeyFileTests
{
    [Theory]
    [InlineData("hrnet_w18_small_v1")]
    [InlineData("hrnet_w18_small_v2")]
    [InlineData("hrnet_w18")]
    public void StateDictKeysShapesAndParameterCountEqualTheTwin(string name)
    {
        var architecture = HRNetArchitecture.FromWidth(name["hrnet_w".Length..]);
        var backbone = new HRNet(architecture, initializeWeights: false);
        var file = KeyFile.Read(name);
        Assert.Equal(KeyFile.Describe(file.Entries), KeyFile.Describe(backbone));
        Assert.Equal(file.ParameterCount, backbone.ParameterCount);
    }

    [Fact]
    public void ParameterCountsOfEveryVariantAreTheTwins()
    {
        // PaddleSeg publishes no counts for the headless backbones; these are the twin's (the registry-wide key-file test
        // checks every registered entry against its file).
        var expected = new Dictionary<string, long>
        {
            ["hrnet_w18_small_v1"] = 1_477_920, ["hrnet_w18_small_v2"] = 3_860_720, ["hrnet_w18"] = 9_562_260,
            ["hrnet_w30"] = 25_812_276, ["hrnet_w32"] = 29_305_536, ["hrnet_w40"] = 45_521_216, ["hrnet_w44"] = 54_974_640,
            ["hrnet_w48"] = 65_325_120, ["hrnet_w60"] = 101_758_896, ["hrnet_w64"] = 115_697_600,
        };
        foreach (var (name, count) in expected)
        {
            var file = KeyFile.Read(name);
            Assert.Equal(count, file.ParameterCount);
            Assert.Equal(count, file.Entries.Where(e => !KeyFile.IsBuffer(e.Key)).Sum(e => KeyFile.Numel(e.Shape)));
        }
    }

    [Fact]
    public void PaddleSegKeyMapSendsEveryPaddleSegNameToOurKeyWithTheSameShape() =>
        KeyFile.Read("hrnet_w18_small_v1.paddle").AssertMapsOnto(new HRNet(HRNetArchitecture.W18SmallV1, initializeWeights: false), HRNet.PaddleSegKeyMap);

    [Fact]
    public void PaddleSegCheckpointLoadsStrictlyAndAdaptsTheStemToOneChannel()
    {
        var paddle = KeyFile.Read("hrnet_w18_small_v1.paddle");
        var tensors = paddle.FormulaTensors();
        using var file = TemporaryCheckpoint.Save(tensors);
        IPretrainedBackbone model = new HRNet(HRNetArchitecture.W18SmallV1, new BackboneOptions(InChannels: 1), initializeWeights: false);
        var report = model.LoadPretrained(file.Path);
        Assert.Empty(report.MissingKeys);
        Assert.Empty(report.UnexpectedKeys);
        Assert.Equal(paddle.Entries.Count, report.LoadedCount);

        var state = model.Module.StateDict();
        Assert.Equal(tensors["conv_layer1_1._conv.weight"].Sum(1, keepDim: true).ToArray(), state["conv_layer1_1.conv.weight"].ToArray());
        Assert.Equal(tensors["la1.bb_layer2_1.conv_down._batch_norm._variance"].ToArray(), state["la1.bb_layer2_1.conv_down.bn.running_var"].ToArray());
        Assert.Equal(tensors["st4.stage_st4_1.fuse_func.residual_st4_1_layer_4_1_3._conv.weight"].ToArray(),
            state["st4.stage_st4_1.fuse_func.residual_st4_1_layer_4_1_3.conv.weight"].ToArray());
        Assert.Equal(tensors["tr3.transition_tr3_layer_4._batch_norm._mean"].ToArray(), state["tr3.transition_tr3_layer_4.bn.running_mean"].ToArray());
    }

    [Fact]
    public void PaddleSegSqueezeExcitationLinearsAreTransposedOnLoad()
    {
        var paddle = KeyFile.FromFile(GoldenFiles.PathOf("HRNet/hrnet_tiny_se.paddle.txt"));
        var tensors = paddle.FormulaTensors();
        using var file = TemporaryCheckpoint.Save(tensors);
        var model = new HRNet(HRNetGoldenTests.Tiny, hasSe: true, initializeWeights: false);
        var report = model.LoadPretrained(file.Path);
        Assert.Empty(report.MissingKeys);
        Assert.Equal(paddle.Entries.Count, report.LoadedCount);

        const string squeeze = "st2.stage_st2_2.branches_func.bb_st2_2_branch_layer_2_2.se.squeeze";
        var paddleWeight = tensors[squeeze + ".weight"];
        Assert.Equal(new Shape(32, 2), paddleWeight.Shape);
        var state = model.StateDict();
        Assert.Equal(paddleWeight.Transpose(0, 1).Contiguous().ToArray(), state[squeeze + ".weight"].ToArray());
        Assert.Equal(tensors[squeeze + ".bias"].ToArray(), state[squeeze + ".bias"].ToArray());
    }

    [Fact]
    public void CheckpointInOurOwnKeysLoadsAsItIs()
    {
        var source = new HRNet(HRNetGoldenTests.Tiny, initializeWeights: false);
        FormulaWeights.Fill(source);
        using var file = TemporaryCheckpoint.Save(source.StateDict());
        var model = new HRNet(HRNetGoldenTests.Tiny);
        Assert.True(model.LoadPretrained(file.Path).IsExactMatch);
        foreach (var (key, tensor) in source.StateDict())
            Assert.Equal(tensor.ToArray(), model.StateDict()[key].ToArray());
    }
}
