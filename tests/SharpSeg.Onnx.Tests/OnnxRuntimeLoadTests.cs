namespace SharpSeg.Onnx.Tests;

/// <summary>The native ONNX Runtime library the parity tests depend on loads on this machine and computes.</summary>
public class OnnxRuntimeLoadTests
{
    [Fact]
    public void NativeRuntimeLoadsAndRunsAHandBuiltGraph()
    {
        var bytes = Google.Protobuf.MessageExtensions.ToByteArray(OnnxModelCheckerTests.AddOneModel());
        using var session = OnnxRuntimeRunner.SessionWithInput(bytes, "x");
        var (values, dims) = OnnxRuntimeRunner.RunFloat(session, Tensor.FromArray([1.5f, -2f, 0f], 3), "x");
        Assert.Equal([3], dims);
        Assert.Equal([2.5f, -1f, 1f], values);
    }
}
