using SharpSeg.Tracing;

namespace SharpSeg.Core.Tests.Tracing;

/// <summary>The recorder behind ONNX export: what it sees, in which order, and only while active.</summary>
public class OpRecorderTests
{
    [Fact]
    public void RecordsEachOpWithItsInputsOutputAndArguments()
    {
        var x = Tensor.Randn(new Shape(1, 2, 4, 4), new Random(1));
        var weight = Tensor.Randn(new Shape(3, 2, 3, 3), new Random(2));
        Tensor conv, y;
        IReadOnlyList<RecordedOp> ops;
        using (var recorder = OpRecorder.Start())
        {
            conv = Functional.Conv2d(x, weight, padding: 1, stride: 2);
            y = Functional.Interpolate(conv.Relu(), size: (4, 4), mode: InterpolationMode.Bilinear, alignCorners: true);
            ops = recorder.Ops;
        }

        Assert.Equal(["Conv2d", "Relu", "Interpolate"], ops.Select(o => o.Op));
        Assert.Same(x, ops[0].Inputs[0]);
        Assert.Same(weight, ops[0].Inputs[1]);
        Assert.Null(ops[0].Inputs[2]);
        Assert.Same(conv, ops[0].Output);
        Assert.Equal(new Size2(2, 2), ops[0].Attributes["stride"]);
        Assert.Equal(new Size2(1, 1), ops[0].Attributes["padding"]);
        Assert.Same(ops[1].Output, ops[2].Inputs[0]);
        Assert.Same(y, ops[2].Output);
        Assert.Equal(new Size2(4, 4), ops[2].Attributes["size"]);
        Assert.Equal(true, ops[2].Attributes["alignCorners"]);
    }

    [Fact]
    public void CompositeOpIsRecordedOnceNotAsTheOpsItRuns()
    {
        var x = Tensor.Randn(new Shape(2, 3, 5, 5), new Random(3));
        using var recorder = OpRecorder.Start();
        var mean = x.Mean([2, 3], keepDim: true);
        var op = Assert.Single(recorder.Ops);
        Assert.Equal("Mean", op.Op);
        Assert.Equal([3, 2], ((int[])op.Attributes["axes"]!).OrderDescending());
        Assert.Same(mean, op.Output);
    }

    [Fact]
    public void NothingIsRecordedOutsideAndTheOuterRecorderResumesAfterANestedOne()
    {
        var x = Tensor.Randn(new Shape(4), new Random(4));
        _ = x.Relu();
        using var outer = OpRecorder.Start();
        _ = x.Sigmoid();
        using (var inner = OpRecorder.Start())
        {
            _ = x.Tanh();
            Assert.Equal(["Tanh"], inner.Ops.Select(o => o.Op));
        }
        _ = x + x;
        Assert.Equal(["Sigmoid", "Add"], outer.Ops.Select(o => o.Op));
        outer.Dispose();
        _ = x.Exp();
        Assert.Equal(2, outer.Ops.Count);
    }
}
