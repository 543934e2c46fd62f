using System.Globalization;
using SharpSeg.Core.Tests.Support;
using Xunit.Sdk;

namespace SharpSeg.Core.Tests.Ops;

/// <summary>
/// Comparisons of engine results with golden fixtures. Floats pass when, element by element,
/// |actual − expected| ≤ 1e-4 · max(1, |expected|): relative for large values, absolute 1e-4 near zero, where
/// float32 rounding of a sum of O(1) terms cannot be judged relatively. The fixtures are the correctly rounded
/// float64 answer, so this leaves room for float32 summation order and nothing more. Integer outputs must match
/// exactly. A failure names the case, the tensor, the element (flat and per-axis index) and both values.
/// </summary>
internal static class GoldenAssert
{
    public const double RelativeTolerance = 1e-4;

    /// <summary>
    /// Compares <paramref name="y"/> with the fixture's <c>y</c>; then, when the case has an upstream gradient
    /// <c>dy</c>, back-propagates it and compares the gradient of every input built by <paramref name="inputs"/>
    /// that the fixture holds a gradient for. Fails if the fixture has a gradient for an input the test did not build.
    /// </summary>
    public static void OutputAndGradients(GoldenCase c, Tensor y, GoldenInputs inputs)
    {
        Close(c, "y", y);
        if (!c.HasTensor("dy"))
            return;

        y.Backward(GoldenInputs.ToTensor(c.Tensor("dy")));
        foreach (var gradientName in c.Tensors.Keys.Where(k => k != "dy" && k.StartsWith('d') && c.HasTensor(k[1..])))
        {
            var inputName = gradientName[1..];
            if (!inputs.Built.TryGetValue(inputName, out var input))
                throw new XunitException($"{c}: the fixture has {gradientName} but the test did not build input '{inputName}' through GoldenInputs.");
            Close(c, gradientName, input.Grad);
        }
    }

    /// <summary>Compares a float tensor with the fixture tensor <paramref name="name"/>.</summary>
    public static void Close(GoldenCase c, string name, Tensor? actual)
    {
        var expected = c.Tensor(name);
        if (actual is null)
            throw new XunitException($"{c}: {name} is null (no gradient reached it); expected {expected}.");
        SameShape(c, name, expected, actual);
        if (actual.DType != DType.Float32)
            throw new XunitException($"{c}: {name} is {actual.DType}, expected float32.");

        var want = expected.Floats;
        var got = actual.ToArray<float>();
        for (int i = 0; i < want.Length; i++)
        {
            double error = Math.Abs((double)got[i] - want[i]);
            double bound = RelativeTolerance * Math.Max(1.0, Math.Abs((double)want[i]));
            if (!(error <= bound))
                throw new XunitException(
                    $"{c}: {name}{Index(expected.Shape, i)} (flat {i}) = {Format(got[i])}, expected {Format(want[i])} " +
                    $"(|diff| {Format(error)} > {Format(bound)} = {RelativeTolerance}·max(1, |expected|)).");
        }
    }

    /// <summary>Compares an integer tensor (int64 or int32) with the int64 fixture tensor <paramref name="name"/> exactly.</summary>
    public static void Exact(GoldenCase c, string name, Tensor actual)
    {
        var expected = c.Tensor(name);
        SameShape(c, name, expected, actual);
        long[] got = actual.DType switch
        {
            DType.Int64 => actual.ToArray<long>(),
            DType.Int32 => actual.ToArray<int>().Select(v => (long)v).ToArray(),
            _ => throw new XunitException($"{c}: {name} is {actual.DType}, expected an integer tensor."),
        };
        var want = expected.Longs;
        for (int i = 0; i < want.Length; i++)
        {
            if (got[i] != want[i])
                throw new XunitException($"{c}: {name}{Index(expected.Shape, i)} (flat {i}) = {got[i]}, expected {want[i]}.");
        }
    }

    private static void SameShape(GoldenCase c, string name, GoldenTensor expected, Tensor actual)
    {
        if (!actual.Shape.ToArray().SequenceEqual(expected.Shape))
            throw new XunitException($"{c}: {name} has shape {actual.Shape}, expected [{string.Join(", ", expected.Shape)}].");
    }

    private static string Index(int[] shape, int flat)
    {
        var index = new int[shape.Length];
        for (int axis = shape.Length - 1; axis >= 0; axis--)
        {
            index[axis] = flat % shape[axis];
            flat /= shape[axis];
        }
        return "[" + string.Join(", ", index) + "]";
    }

    private static string Format(double value) => value.ToString("G9", CultureInfo.InvariantCulture);
}
