using SharpSeg.Core.Tests.Support;

namespace SharpSeg.Core.Tests.Tensors;

public sealed class TensorBasicsTests
{
    [Fact]
    public void Creation_fills_and_shapes()
    {
        Assert.Equal(new float[6], Tensor.Zeros(2, 3).ToArray());
        Assert.Equal(Enumerable.Repeat(1f, 4), Tensor.Ones(2, 2).ToArray());
        Assert.Equal(Enumerable.Repeat(2.5f, 3), Tensor.Full(new Shape(3), 2.5f).ToArray());
        Assert.Equal(new[] { 1f, 1.5f, 2f, 2.5f }, Tensor.Arange(1f, 3f, 0.5f).ToArray());
        Assert.Equal(new Shape(2, 3), Tensor.FromArray(new float[6], 2, 3).Shape);
        Assert.Equal(7f, Tensor.Scalar(7f).Item());
        Assert.Equal(DType.Int64, Tensor.FromArray(new long[] { 1, 2 }).DType);
    }

    [Fact]
    public void FromArray_copies_and_rejects_wrong_counts()
    {
        var data = new float[] { 1, 2, 3, 4 };
        var t = Tensor.FromArray(data, 2, 2);
        data[0] = 99;
        Assert.Equal(1f, t.ToArray()[0]);
        var e = Assert.Throws<ShapeMismatchException>(() => Tensor.FromArray(new float[5], 2, 2));
        Assert.Contains("[2, 2]", e.Message);
    }

    [Fact]
    public void Seeded_random_is_reproducible_and_has_the_right_moments()
    {
        var a = Tensor.Randn(new Shape(10000), new Random(5)).ToArray();
        var b = Tensor.Randn(new Shape(10000), new Random(5)).ToArray();
        Assert.Equal(a, b);
        double mean = a.Average(), var = a.Select(v => (v - mean) * (v - mean)).Average();
        Assert.InRange(mean, -0.05, 0.05);
        Assert.InRange(var, 0.95, 1.05);
        var u = Tensor.Rand(new Shape(1000), new Random(5)).ToArray();
        Assert.All(u, v => Assert.InRange(v, 0f, 1f));
    }

    [Fact]
    public void Permute_and_transpose_are_views_and_contiguous_reorders()
    {
        var x = Tensor.Arange(24).Reshape(2, 3, 4);
        var p = x.Permute(2, 0, 1);
        Assert.Equal(new Shape(4, 2, 3), p.Shape);
        Assert.False(p.IsContiguous);
        Assert.Same(x.Storage, p.Storage);
        // p[k, i, j] = x[i, j, k] = 12i + 4j + k
        var values = p.ToArray();
        Assert.Equal(0f, values[0]);
        Assert.Equal(4f, values[1]);
        Assert.Equal(12f, values[3]);
        Assert.Equal(1f, values[6]);
        Assert.Equal(new Shape(3, 2), Tensor.Zeros(2, 3).Transpose(0, 1).Shape);
    }

    [Fact]
    public void Slice_narrow_select_and_step_read_the_right_elements()
    {
        var x = Tensor.Arange(20).Reshape(4, 5);
        Assert.Equal(new[] { 6f, 7f, 8f, 11f, 12f, 13f }, x.Narrow(0, 1, 2).Narrow(1, 1, 3).ToArray());
        Assert.Equal(new[] { 0f, 2f, 4f, 10f, 12f, 14f }, x.Slice(0, 0, 4, 2).Slice(1, 0, 5, 2).ToArray());
        Assert.Equal(new[] { 15f, 16f, 17f, 18f, 19f }, x.Select(0, -1).ToArray());
        Assert.Equal(new[] { 3f, 4f, 8f, 9f, 13f, 14f, 18f, 19f }, x.Slice(1, -2, int.MaxValue).ToArray());
    }

    [Fact]
    public void Reshape_infers_minus_one_and_copies_non_contiguous_input()
    {
        var x = Tensor.Arange(6).Reshape(2, -1);
        Assert.Equal(new Shape(2, 3), x.Shape);
        var t = x.Transpose(0, 1).Reshape(6);
        Assert.Equal(new[] { 0f, 3f, 1f, 4f, 2f, 5f }, t.ToArray());
        Assert.Throws<ShapeMismatchException>(() => x.Transpose(0, 1).View(6));
        Assert.Throws<ShapeMismatchException>(() => x.Reshape(4, -1));
        Assert.Equal(new Shape(1, 2, 3, 1), x.Unsqueeze(0).Unsqueeze(-1).Shape);
        Assert.Equal(new Shape(2, 3), x.Unsqueeze(0).Squeeze().Shape);
        Assert.Equal(new Shape(6), x.Flatten().Shape);
    }

    [Fact]
    public void Expand_broadcasts_without_copying()
    {
        var x = Tensor.FromArray(new float[] { 1, 2, 3 }, 3, 1);
        var e = x.Expand(2, 3, 4);
        Assert.Same(x.Storage, e.Storage);
        Assert.Equal(new Shape(2, 3, 4), e.Shape);
        Assert.Equal(new[] { 1f, 1f, 1f, 1f, 2f, 2f, 2f, 2f, 3f, 3f, 3f, 3f }, e.Select(0, 1).ToArray());
        Assert.Throws<ShapeMismatchException>(() => x.Expand(2, 4));
    }

    [Fact]
    public void Flip_cat_stack_split_and_chunk()
    {
        var x = Tensor.Arange(6).Reshape(2, 3);
        Assert.Equal(new[] { 5f, 4f, 3f, 2f, 1f, 0f }, x.Flip(0, 1).ToArray());
        Assert.Equal(new[] { 2f, 1f, 0f, 5f, 4f, 3f }, x.Flip(1).ToArray());
        var y = Tensor.Full(new Shape(2, 1), 9f);
        Assert.Equal(new[] { 0f, 1f, 2f, 9f, 3f, 4f, 5f, 9f }, Tensor.Cat([x, y], 1).ToArray());
        var s = Tensor.Stack([x, x], 1);
        Assert.Equal(new Shape(2, 2, 3), s.Shape);
        Assert.Equal(new[] { 0f, 1f, 2f, 0f, 1f, 2f }, s.Select(0, 0).ToArray());
        var parts = Tensor.Arange(7).Split([2, 5]);
        Assert.Equal(new[] { 2f, 3f, 4f, 5f, 6f }, parts[1].ToArray());
        var chunks = Tensor.Arange(7).Chunk(3);
        Assert.Equal(new[] { 3, 3, 1 }, chunks.Select(c => c.Shape[0]));
        var e = Assert.Throws<ShapeMismatchException>(() => Tensor.Cat([x, Tensor.Zeros(3, 1)], 1));
        Assert.Contains("[2, 3]", e.Message);
    }

    [Fact]
    public void Broadcasting_arithmetic_matches_hand_values()
    {
        var a = Tensor.Arange(6).Reshape(2, 3);
        var col = Tensor.FromArray(new float[] { 10, 20 }, 2, 1);
        var row = Tensor.FromArray(new float[] { 1, 2, 3 }, 3);
        Assert.Equal(new[] { 10f, 11f, 12f, 23f, 24f, 25f }, (a + col).ToArray());
        Assert.Equal(new[] { 0f, 2f, 6f, 3f, 8f, 15f }, (a * row).ToArray());
        Assert.Equal(new[] { 11f, 12f, 13f, 21f, 22f, 23f }, (col + row).ToArray());
        Assert.Equal(new[] { -1f, 0f, 1f, 2f, 3f, 4f }, (a - 1f).ToArray());
        Assert.Equal(new[] { 0f, 0.5f, 1f, 1.5f, 2f, 2.5f }, (a / 2f).ToArray());
        Assert.Equal(new[] { 2f, 1f, 2f, 3f, 4f, 5f }, a.Maximum(Tensor.FromArray(new float[] { 2, 1, 0 })).ToArray());
        Assert.Equal(new[] { 0f, 1f, 1f, 1f, 1f, 1f }, a.Minimum(Tensor.Scalar(1f)).ToArray());
        var e = Assert.Throws<ShapeMismatchException>(() => a + Tensor.Zeros(4));
        Assert.Contains("Add", e.Message);
        Assert.Contains("[2, 3]", e.Message);
        Assert.Contains("[4]", e.Message);
    }

    [Fact]
    public void Comparisons_and_where_produce_masks()
    {
        var a = Tensor.FromArray(new float[] { 1, 2, 3, 4 });
        var b = Tensor.FromArray(new float[] { 4, 2, 2, 5 });
        Assert.Equal(new[] { 1f, 0f, 0f, 1f }, a.Lt(b).ToArray());
        Assert.Equal(new[] { 0f, 1f, 0f, 0f }, a.Eq(b).ToArray());
        Assert.Equal(new[] { 0f, 1f, 1f, 0f }, a.Ge(b).ToArray());
        Assert.Equal(new[] { 4f, 2f, 3f, 5f }, Tensor.Where(a.Gt(b), a, b).ToArray());
    }

    [Fact]
    public void Reductions_over_axes_with_keepdim()
    {
        var x = Tensor.Arange(24).Reshape(2, 3, 4);
        Assert.Equal(276f, x.Sum().Item());
        var s = x.Sum([0, 2], keepDim: true);
        Assert.Equal(new Shape(1, 3, 1), s.Shape);
        // Σ over i, k of 12i + 4j + k = 2·(4·4j + 6) + 12·4
        Assert.Equal(new[] { 60f, 92f, 124f }, s.ToArray());
        Assert.Equal(new[] { 20f, 21f, 22f, 23f }, x.Max(0).Max(0).ToArray());
        Assert.Equal(new[] { 0f, 4f, 8f }, x.Min([0, 2]).ToArray());
        Assert.Equal(new[] { 1.5f, 5.5f, 9.5f, 13.5f, 17.5f, 21.5f }, x.Mean(2).ToArray());
        Assert.Equal(new[] { 1.25f }, Tensor.Arange(4).Var(unbiased: false).Reshape(1).ToArray());
        Assert.Equal(5f / 3f, Tensor.Arange(4).Var().Item(), 6);
        var m = Tensor.FromArray(new float[] { 1, 5, 5, 0, 2, -1 }, 2, 3);
        Assert.Equal(new long[] { 1, 0 }, m.Argmax(1).ToArray<long>());
        Assert.Equal(new long[] { 0, 2 }, m.Argmin(1).ToArray<long>());
    }

    [Fact]
    public void Matmul_and_linear_match_hand_products()
    {
        var a = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        var b = Tensor.FromArray(new float[] { 7, 8, 9, 10, 11, 12 }, 3, 2);
        Assert.Equal(new[] { 58f, 64f, 139f, 154f }, a.Matmul(b).ToArray());
        Assert.Equal(new[] { 58f, 139f, 64f, 154f }, b.Transpose(0, 1).Matmul(a.Transpose(0, 1)).ToArray());
        var bias = Tensor.FromArray(new float[] { 1, -1 });
        Assert.Equal(new[] { 59f, 63f, 140f, 153f }, Functional.Linear(a, b.Transpose(0, 1), bias).ToArray());
        var batched = Tensor.Stack([a, a * 2f]).Matmul(b);
        Assert.Equal(new[] { 58f, 64f, 139f, 154f, 116f, 128f, 278f, 308f }, batched.ToArray());
        Assert.Throws<ShapeMismatchException>(() => a.Matmul(a));
    }

    [Fact]
    public void Pad_modes_match_torch_semantics()
    {
        var x = Tensor.Arange(1, 4).Reshape(1, 3);
        Assert.Equal(new[] { 0f, 0f, 1f, 2f, 3f, 0f }, Functional.Pad(x, [2, 1]).ToArray());
        Assert.Equal(new[] { 3f, 2f, 1f, 2f, 3f, 2f }, Functional.Pad(x, [2, 1], PadMode.Reflect).ToArray());
        Assert.Equal(new[] { 1f, 1f, 1f, 2f, 3f, 3f }, Functional.Pad(x, [2, 1], PadMode.Replicate).ToArray());
        var img = Tensor.Arange(4).Reshape(1, 1, 2, 2);
        Assert.Equal(new[] { 3f, 2f, 3f, 2f, 1f, 0f, 1f, 0f, 3f, 2f, 3f, 2f },
            Functional.Pad(img, [1, 1, 1, 0], PadMode.Reflect).ToArray());
        Assert.Throws<ShapeMismatchException>(() => Functional.Pad(x, [3, 0], PadMode.Reflect));
    }

    [Fact]
    public void OneHot_and_conversions()
    {
        var labels = Tensor.FromArray(new long[] { 2, 0, 1 });
        Assert.Equal(new long[] { 0, 0, 1, 1, 0, 0, 0, 1, 0 }, Functional.OneHot(labels, 3).ToArray<long>());
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Functional.OneHot(Tensor.FromArray(new long[] { 0, 255 }), 3));
        Assert.Contains("255", e.Message);
        Assert.Equal(new[] { 2, -1 }, Tensor.FromArray(new float[] { 2.7f, -1.5f }).To(DType.Int32).ToArray<int>());
    }

    [Fact]
    public void Dropout_is_seeded_scaled_and_off_in_eval()
    {
        var x = Tensor.Ones(1000);
        var a = Functional.Dropout(x, 0.3, training: true, new Random(3)).ToArray();
        var b = Functional.Dropout(x, 0.3, training: true, new Random(3)).ToArray();
        Assert.Equal(a, b);
        Assert.All(a, v => Assert.True(v == 0f || Math.Abs(v - 1 / 0.7f) < 1e-6));
        Assert.InRange(a.Count(v => v == 0f), 240, 360);
        Assert.Same(x, Functional.Dropout(x, 0.3, training: false));
        var channels = Functional.Dropout2d(Tensor.Ones(2, 8, 3, 3), 0.5, true, new Random(1)).ToArray();
        for (int c = 0; c < 16; c++)
            Assert.Single(channels.Skip(c * 9).Take(9).Distinct());
    }
}
