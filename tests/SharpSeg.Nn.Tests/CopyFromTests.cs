namespace SharpSeg.Nn.Tests;

/// <summary>Tensor.CopyFrom (added to Core for in-place weight loading), tested where it is used.</summary>
public class CopyFromTests
{
    [Fact]
    public void CopiesIntoAStridedViewOfTheSameStorage()
    {
        var t = Tensor.Zeros(2, 3);
        t.Transpose(0, 1).CopyFrom(Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 3, 2));
        Assert.Equal([1f, 3f, 5f, 2f, 4f, 6f], t.ToArray());
    }

    [Fact]
    public void SourceAliasingTheTargetIsReadBeforeWriting()
    {
        var t = Tensor.FromArray([1f, 2f, 3f, 4f], 2, 2);
        t.CopyFrom(t.Transpose(0, 1));
        Assert.Equal([1f, 3f, 2f, 4f], t.ToArray());
    }

    [Fact]
    public void ConvertsElementTypesAndKeepsIdentityAndGradFlag()
    {
        var p = Tensor.Zeros(3);
        p.RequiresGrad = true;
        Assert.Same(p, p.CopyFrom(Tensor.FromArray([1L, -2L, 3L])));
        Assert.Equal([1f, -2f, 3f], p.ToArray());
        Assert.True(p.RequiresGrad && p.IsLeaf);

        var counter = Tensor.Zeros(new Shape(), DType.Int64);
        counter.CopyFrom(Tensor.Scalar(7.9f));
        Assert.Equal(7L, counter.ToArray<long>()[0]);
    }

    [Fact]
    public void RejectsOtherShapesAndNonLeaves()
    {
        var e = Assert.Throws<ShapeMismatchException>(() => Tensor.Zeros(2, 3).CopyFrom(Tensor.Zeros(3, 2)));
        Assert.Contains("[3, 2]", e.Message);
        Assert.Contains("[2, 3]", e.Message);

        var p = Tensor.Zeros(2);
        p.RequiresGrad = true;
        Assert.Throws<InvalidOperationException>(() => (p * 2f).CopyFrom(Tensor.Zeros(2)));
    }
}
