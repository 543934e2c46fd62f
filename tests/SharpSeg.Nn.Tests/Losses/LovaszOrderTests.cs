using SharpSeg.Nn.Losses;

namespace SharpSeg.Nn.Tests.Losses;

public class LovaszOrderTests
{
    [Fact]
    public void RadixOrderMatchesAComparisonSortOverSignedValuesAndSkipsIgnoredPixels()
    {
        var random = new Random(7);
        int count = 5000;
        var errors = new float[count];
        var labels = new long[count];
        for (int i = 0; i < count; i++)
        {
            errors[i] = i % 50 == 0 ? 0f : (float)((random.NextDouble() - 0.4) * Math.Pow(10, random.Next(-6, 4)));
            labels[i] = i % 7 == 0 ? 255 : 0;
        }
        errors[1] = float.MaxValue;
        errors[2] = -float.MaxValue;
        errors[3] = -0f;
        var map = LabelMap.FromLabels("test", Tensor.FromArray(labels, 1, 1, count), 2, 255);

        var order = LovaszExtension.DescendingOrder(errors, map);

        var expected = Enumerable.Range(0, count).Where(i => labels[i] != 255).OrderByDescending(i => errors[i]).ThenBy(i => i).ToArray();
        Assert.Equal(expected.Select(i => errors[i]), order.Select(i => errors[i]));
        Assert.Equal(map.ValidCount, order.Distinct().Count());
    }
}
