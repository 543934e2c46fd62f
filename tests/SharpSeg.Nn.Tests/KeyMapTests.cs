namespace SharpSeg.Nn.Tests;

public class KeyMapTests
{
    /// <summary>PyTorch-named twin of a PaddleSeg ConvBNLayer plus a Linear head.</summary>
    private sealed class ConvBnHead : Module
    {
        public ConvBnHead()
        {
            var block = Child("conv1_1", new Block());
            Stage = Child("stage_conv", new Conv2d(4, 4, 1, bias: false));
            Fc = Child("fc", new Linear(3, 2));
            Block = block;
        }

        public Block Block { get; }

        public Conv2d Stage { get; }

        public Linear Fc { get; }
    }

    private sealed class Block : Module
    {
        public Block()
        {
            Conv = Child("conv", new Conv2d(3, 4, 3, bias: false));
            Bn = Child("bn", new BatchNorm2d(4));
        }

        public Conv2d Conv { get; }

        public BatchNorm2d Bn { get; }
    }

    private static Tensor Counting(params int[] shape)
    {
        int n = shape.Aggregate(1, (a, b) => a * b);
        return Tensor.FromArray(Enumerable.Range(0, n).Select(i => (float)i).ToArray(), shape);
    }

    private static OrderedDictionary<string, Tensor> PaddleDict() => new()
    {
        ["conv1_1._conv.weight"] = Counting(4, 3, 3, 3),
        ["conv1_1._batch_norm.weight"] = Tensor.FromArray([1f, 2f, 3f, 4f]),
        ["conv1_1._batch_norm.bias"] = Tensor.FromArray([5f, 6f, 7f, 8f]),
        ["conv1_1._batch_norm._mean"] = Tensor.FromArray([0.1f, 0.2f, 0.3f, 0.4f]),
        ["conv1_1._batch_norm._variance"] = Tensor.FromArray([1.1f, 1.2f, 1.3f, 1.4f]),
        ["stage_conv.weight"] = Counting(4, 4, 1, 1),
        ["fc.weight"] = Counting(3, 2),
        ["fc.bias"] = Tensor.FromArray([-1f, -2f]),
    };

    [Fact]
    public void PaddleSegMapRenamesSegmentsAndTransposesLinearWeights()
    {
        var mapped = KeyMap.PaddleSeg.Apply(PaddleDict());
        Assert.Equal(
            ["conv1_1.conv.weight", "conv1_1.bn.weight", "conv1_1.bn.bias", "conv1_1.bn.running_mean", "conv1_1.bn.running_var",
             "stage_conv.weight", "fc.weight", "fc.bias"],
            mapped.Keys);
        Assert.Equal(new Shape(2, 3), mapped["fc.weight"].Shape);
        // Paddle [in=3, out=2] = [[0,1],[2,3],[4,5]] → torch [out, in] = [[0,2,4],[1,3,5]].
        Assert.Equal([0f, 2f, 4f, 1f, 3f, 5f], mapped["fc.weight"].ToArray());
        Assert.Equal(new Shape(4, 3, 3, 3), mapped["conv1_1.conv.weight"].Shape);
        Assert.Equal(Counting(4, 3, 3, 3).ToArray(), mapped["conv1_1.conv.weight"].ToArray());

        var model = new ConvBnHead();
        var report = model.LoadStateDict(mapped);
        Assert.True(report.IsExactMatch);
        Assert.Equal([0.1f, 0.2f, 0.3f, 0.4f], model.Block.Bn.RunningMean!.ToArray());
        Assert.Equal([1.1f, 1.2f, 1.3f, 1.4f], model.Block.Bn.RunningVar!.ToArray());
        Assert.Equal([0f, 2f, 4f, 1f, 3f, 5f], model.Fc.Weight.ToArray());
    }

    [Fact]
    public void RulesApplyInOrder()
    {
        var map = new KeyMap()
            .ReplacePrefix("backbone.", "encoder.")
            .RenameRegex(@"layer(\d+)", "stage$1")
            .ReplaceSuffix(".gamma", ".weight")
            .ReplacePrefix("encoder.stage1", "first");
        Assert.Equal("first.0.weight", map.MapKey("backbone.layer1.0.gamma"));
        Assert.Equal("encoder.stage2.beta", map.MapKey("backbone.layer2.beta"));
        Assert.Equal("head.layer_norm", new KeyMap().ReplacePrefix("x", "y").MapKey("head.layer_norm"));
    }

    [Fact]
    public void DropRemovesKeysAndCollisionsAreRejected()
    {
        var dict = new Dictionary<string, Tensor> { ["fc.weight"] = Tensor.Ones(2, 2), ["fc.bias"] = Tensor.Ones(2), ["conv.weight"] = Tensor.Ones(1) };
        Assert.Equal(["conv.weight"], new KeyMap().Drop(@"^fc\.").Apply(dict).Keys);

        var e = Assert.Throws<ArgumentException>(() => new KeyMap().RenameRegex(@"\.(weight|bias)$", ".w").Apply(dict));
        Assert.Contains("'fc.weight' and 'fc.bias' to 'fc.w'", e.Message);
    }

    [Fact]
    public void FailingTransformNamesTheKey()
    {
        var map = new KeyMap().Transform((_, t) => t.Rank == 1, t => t.Reshape(5), "reshape to 5");
        var e = Assert.Throws<ArgumentException>(() => map.Apply(new Dictionary<string, Tensor> { ["b"] = Tensor.Ones(3) }));
        Assert.Contains("'reshape to 5' failed on 'b'", e.Message);
    }

    [Fact]
    public void PaddleSegMapIsImmutable()
    {
        var extended = KeyMap.PaddleSeg.ReplacePrefix("a.", "b.");
        Assert.Equal("b.conv", extended.MapKey("a._conv"));
        Assert.Equal("a.conv", KeyMap.PaddleSeg.MapKey("a._conv"));
    }
}
