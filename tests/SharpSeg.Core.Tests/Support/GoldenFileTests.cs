namespace SharpSeg.Core.Tests.Support;

public sealed class GoldenFileTests
{
    private static readonly string[] Families =
    [
        "batch_norm.json", "conv2d.json", "conv_transpose2d.json", "elementwise.json", "interpolate.json",
        "losses.json", "matmul.json", "pooling.json", "reductions.json", "softmax.json",
    ];

    public static TheoryData<string> FileNames => new(Families);

    [Fact]
    public void EveryOpFamilyHasAFixtureInTheOutputFolder()
    {
        Assert.Equal(Families, GoldenFile.AllFileNames());
    }

    [Theory]
    [MemberData(nameof(FileNames))]
    public void FileNamesItsGeneratorAndHoldsCases(string fileName)
    {
        var file = GoldenFile.Load(fileName);

        Assert.Equal("tools/gen_core_golden.py", file.Generator);
        Assert.StartsWith("1.13", file.TorchVersion, StringComparison.Ordinal);
        Assert.NotEmpty(file.Cases);
        Assert.Equal(file.Cases.Count, file.Cases.Select(c => c.Name).Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(FileNames))]
    public void EveryShapeMultipliesToItsDataLength(string fileName)
    {
        foreach (var c in GoldenFile.Load(fileName).Cases)
        {
            foreach (var t in c.Tensors.Values)
            {
                var count = t.Shape.Aggregate(1L, (n, d) => n * d);
                var length = t.DType switch
                {
                    "float32" => t.Floats.Length,
                    "int64" => t.Longs.Length,
                    _ => t.Bools.Length,
                };
                Assert.True(count == length, $"{c}: {t} has {length} values");
            }
        }
    }

    [Theory]
    [MemberData(nameof(FileNames))]
    public void GradientsHaveTheirInputsShapeAndDyHasTheOutputsShape(string fileName)
    {
        foreach (var c in GoldenFile.Load(fileName).Cases)
        {
            var gradients = c.Tensors.Keys.Where(k => k.StartsWith('d') && c.HasTensor(k[1..])).ToList();
            if (c.Op == "argmax")
            {
                Assert.Empty(gradients);
                Assert.Equal("int64", c.Tensor("y").DType);
                continue;
            }

            Assert.True(gradients.Count > 0, $"{c} has no gradient");
            Assert.Equal(c.Tensor("y").Shape, c.Tensor("dy").Shape);
            foreach (var g in gradients)
                Assert.Equal(c.Tensor(g[1..]).Shape, c.Tensor(g).Shape);
        }
    }

    [Fact]
    public void ParamsReadSingleIntsAsPairsAndNullsAsAbsent()
    {
        var conv = GoldenFile.Load("conv2d").Case("k1x3_p0x1").Params;
        Assert.Equal((1, 3), conv.Pair("kernel_size"));
        Assert.Equal((0, 1), conv.Pair("padding"));
        Assert.Equal((1, 1), conv.Pair("stride"));
        Assert.Equal(1, conv.Int("groups"));
        Assert.True(conv.Bool("bias"));
        Assert.Equal("zeros", conv.String("padding_mode"));

        var nearest = GoldenFile.Load("interpolate").Case("nearest_scale1_5_7x5").Params;
        Assert.Null(nearest.PairOrNull("size"));
        Assert.Equal(1.5, nearest.DoubleOrNull("scale_factor"));
        Assert.Null(nearest.BoolOrNull("align_corners"));
        Assert.Equal("nearest", nearest.String("mode"));

        var bn = GoldenFile.Load("batch_norm").Case("train_affine_n2c3h5w4_step1").Params;
        Assert.Equal(1e-5, bn.Double("eps"));
        Assert.Equal(0.1, bn.Double("momentum"));

        var reductions = GoldenFile.Load("reductions");
        Assert.Equal([0, 2], reductions.Case("sum_dim0_2_keepdim").Params.Ints("dim"));
        Assert.Null(reductions.Case("sum_all_keepdim").Params.IntsOrNull("dim"));
        Assert.Equal([1], reductions.Case("argmax_dim1_keepdim").Params.Ints("dim"));
    }

    [Fact]
    public void MissingOrNullParamsNameTheCaseAndKey()
    {
        var parameters = GoldenFile.Load("interpolate").Case("nearest_scale2").Params;

        var missing = Assert.Throws<KeyNotFoundException>(() => parameters.Int("stride"));
        Assert.Contains("interpolate.json/nearest_scale2", missing.Message, StringComparison.Ordinal);
        Assert.Contains("\"stride\"", missing.Message, StringComparison.Ordinal);

        var isNull = Assert.Throws<InvalidDataException>(() => parameters.Pair("size"));
        Assert.Contains("\"size\" is null", isNull.Message, StringComparison.Ordinal);

        var wrongType = Assert.Throws<InvalidDataException>(() => parameters.Int("mode"));
        Assert.Contains("\"mode\" is \"nearest\", expected an int", wrongType.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FloatsAreReadExactly()
    {
        var x = GoldenFile.Load("batch_norm").Case("train_affine_n2c3h5w4_step1").Tensor("x");

        Assert.Equal(3.1095133f, x.Floats[0]);
        Assert.Equal(-0.21594828f, x.Floats[1]);
    }

    [Fact]
    public void MatmulFixtureMatchesAProductComputedHereInCOrder()
    {
        var c = GoldenFile.Load("matmul").Case("mm_5x7_7x3");
        var a = c.Tensor("a").Floats;
        var b = c.Tensor("b").Floats;
        var y = c.Tensor("y").Floats;

        Assert.Equal([5, 3], c.Tensor("y").Shape);
        for (var i = 0; i < 5; i++)
        {
            for (var j = 0; j < 3; j++)
            {
                double sum = 0;
                for (var k = 0; k < 7; k++)
                    sum += (double)a[i * 7 + k] * b[k * 3 + j];
                Assert.Equal((float)sum, y[i * 3 + j]);
            }
        }
    }

    [Fact]
    public void ReluFixturePassesUpstreamGradientOnlyWherePositive()
    {
        var c = GoldenFile.Load("elementwise").Case("relu");
        var x = c.Tensor("x").Floats;
        var dy = c.Tensor("dy").Floats;

        Assert.Equal(x.Select(v => Math.Max(v, 0f)), c.Tensor("y").Floats);
        Assert.Equal(x.Select((v, i) => v > 0 ? dy[i] : 0f), c.Tensor("dx").Floats);
        Assert.Contains(x, v => v < 0);
        Assert.Contains(dy, v => v != 1f);
    }

    [Fact]
    public void WeightedCrossEntropyMeanDividesByTheWeightOfNonIgnoredPixels()
    {
        var c = GoldenFile.Load("losses").Case("ce_nchw_weighted_mean");
        var x = c.Tensor("x").Floats;
        var target = c.Tensor("target").Longs;
        var weight = c.Tensor("weight").Floats;
        Assert.Equal([2, 4, 3, 5], c.Tensor("x").Shape);
        Assert.Equal(255, c.Params.Int("ignore_index"));
        Assert.Contains(255L, target);

        const int classes = 4, plane = 15;
        double lossSum = 0, weightSum = 0;
        for (var n = 0; n < 2; n++)
        {
            for (var p = 0; p < plane; p++)
            {
                var label = target[n * plane + p];
                if (label == 255)
                    continue;
                double sumExp = 0;
                for (var k = 0; k < classes; k++)
                    sumExp += Math.Exp(x[(n * classes + k) * plane + p]);
                var logProbability = x[(n * classes + (int)label) * plane + p] - Math.Log(sumExp);
                lossSum -= weight[label] * logProbability;
                weightSum += weight[label];
            }
        }

        Assert.Equal(lossSum / weightSum, c.Tensor("y").Scalar, 5);
    }

    [Fact]
    public void ShapeAndDataLengthMismatchIsRejectedNamingTheTensor()
    {
        const string json = """
            {"generator": "g", "torch": "1.13", "cases": [
              {"name": "bad", "op": "relu", "params": {},
               "tensors": {"x": {"shape": [2, 3], "dtype": "float32", "data": [1, 2, 3]}}}]}
            """;

        var e = Assert.Throws<InvalidDataException>(() => GoldenFile.Parse(json, "broken.json"));

        Assert.Contains("broken.json/bad tensor 'x'", e.Message, StringComparison.Ordinal);
        Assert.Contains("holds 6 values but data has 3", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownDTypeAndMissingCaseAreRejected()
    {
        const string json = """
            {"generator": "g", "torch": "1.13", "cases": [
              {"name": "half", "op": "relu", "params": {},
               "tensors": {"x": {"shape": [1], "dtype": "float16", "data": [1]}}}]}
            """;

        var dtype = Assert.Throws<InvalidDataException>(() => GoldenFile.Parse(json, "f16.json"));
        Assert.Contains("\"float16\"", dtype.Message, StringComparison.Ordinal);

        var missing = Assert.Throws<KeyNotFoundException>(() => GoldenFile.Load("softmax").Case("no_such_case"));
        Assert.Contains("softmax.json has no case 'no_such_case'", missing.Message, StringComparison.Ordinal);
    }
}
