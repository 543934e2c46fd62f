using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace SharpSeg.Onnx.Tests;

/// <summary>Runs an exported model in ONNX Runtime (CPU) on one SharpSeg tensor.</summary>
internal static class OnnxRuntimeRunner
{
    public static InferenceSession Session(byte[] model)
    {
        var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        return new InferenceSession(model, options);
    }

    public static InferenceSession SessionWithInput(byte[] model, string inputName)
    {
        var session = Session(model);
        Assert.Equal(inputName, session.InputMetadata.Keys.Single());
        return session;
    }

    public static (float[] Values, int[] Dims) RunFloat(InferenceSession session, Tensor image, string inputName = "image")
    {
        using var results = Run(session, image, inputName);
        var output = results[0].AsTensor<float>();
        return (output.ToArray(), output.Dimensions.ToArray());
    }

    public static (long[] Values, int[] Dims) RunInt64(InferenceSession session, Tensor image)
    {
        using var results = Run(session, image, "image");
        var output = results[0].AsTensor<long>();
        return (output.ToArray(), output.Dimensions.ToArray());
    }

    private static IDisposableReadOnlyCollection<DisposableNamedOnnxValue> Run(InferenceSession session, Tensor image, string inputName)
    {
        var input = new DenseTensor<float>(image.ToArray(), image.Shape.ToArray());
        return session.Run([NamedOnnxValue.CreateFromTensor(inputName, input)]);
    }
}
