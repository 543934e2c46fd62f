using System.Text.Json;
using SharpSeg.Detection.Data;

namespace SharpSeg.Detection.Tests.Data;

/// <summary>
/// COCO RLE codec and polygon rasterisation: hand-computed cases, round trips, and Golden/coco/polygons.json written by
/// tools/coco_eval_reference.py (whose rasteriser matched the COCO API's compiled maskApi.c on 3000 random polygons).
/// </summary>
public class CocoRleTests
{
    [Fact]
    public void EncodeRunsDownColumnsStartingWithZeros()
    {
        // 2×3 mask, row-major:  1 0 1
        //                        1 1 0   → column-major 1 1 | 0 1 | 1 0 → runs: 0 zeros, 2 ones, 1 zero, 2 ones, 1 zero.
        var rle = CocoRle.Encode([1, 0, 1, 1, 1, 0], 2, 3);
        Assert.Equal([0u, 2, 1, 2, 1], rle.Counts);
        Assert.Equal(4, rle.Area);
        Assert.Equal([1, 0, 1, 1, 1, 0], rle.Decode());
    }

    [Fact]
    public void CompressedStringMatchesTheCocoCode()
    {
        // Hand-encoded: counts [0, 2, 1, 2, 1] → '0' (0), '2' (2), '1' (1), then differences to the count two before:
        // 2 − 2 = 0 → '0', 1 − 1 = 0 → '0'.
        var rle = new CocoRle(2, 3, [0, 2, 1, 2, 1]);
        Assert.Equal("02100", rle.ToCompressedString());
        // A run of 100 needs two characters: 100 = 0b11_00100 → low 5 bits 4 with the continuation bit (4 + 32 + 48 = 'T'),
        // then 3 ('3'); a negative difference −5 is 0b11011 with the sign bit set (27 + 48 = 'K').
        var big = new CocoRle(1, 210, [10, 100, 5, 95]);
        Assert.Equal(":T35K", big.ToCompressedString());
        Assert.Equal(big.Counts, CocoRle.FromCompressedString(":T35K", 1, 210).Counts);
    }

    [Fact]
    public void RandomMasksRoundTripThroughCountsAndStrings()
    {
        var random = new Random(7);
        for (int trial = 0; trial < 50; trial++)
        {
            int h = random.Next(1, 70), w = random.Next(1, 70);
            double density = random.NextDouble();
            var mask = new byte[h * w];
            for (int i = 0; i < mask.Length; i++)
                mask[i] = (byte)(random.NextDouble() < density * density ? 1 : 0);
            var rle = CocoRle.Encode(mask, h, w);
            Assert.Equal(mask, rle.Decode());
            var again = CocoRle.FromCompressedString(rle.ToCompressedString(), h, w);
            Assert.Equal(rle.Counts, again.Counts);
            Assert.Equal(mask.Count(m => m != 0), rle.Area);
        }
    }

    public static TheoryData<string> PolygonCases()
    {
        var data = new TheoryData<string>();
        foreach (var element in LoadCases().RootElement.EnumerateArray())
            data.Add(element.GetProperty("name").GetString()!);
        return data;
    }

    [Theory]
    [MemberData(nameof(PolygonCases))]
    public void PolygonRasterisationEqualsTheCocoApi(string name)
    {
        using var cases = LoadCases();
        var c = cases.RootElement.EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        var polygon = c.GetProperty("polygon").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        int h = c.GetProperty("height").GetInt32(), w = c.GetProperty("width").GetInt32();
        var rle = CocoRle.FromPolygon(polygon, h, w);
        Assert.Equal(c.GetProperty("counts").EnumerateArray().Select(e => e.GetUInt32()).ToArray(), rle.Counts);
        Assert.Equal(c.GetProperty("compressed").GetString(), rle.ToCompressedString());
        Assert.Equal(c.GetProperty("area").GetInt64(), rle.Area);
        var box = c.GetProperty("bbox").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.Equal((box[0], box[1], box[2], box[3]), rle.ToBox());
    }

    [Fact]
    public void SquareOnPixelCornersCoversExactlyItsPixels()
    {
        // The square from (2, 2) to (6, 6) in continuous coordinates covers pixels 2..5 in x and y: 16 pixels.
        var mask = CocoRle.FromPolygon([2, 2, 6, 2, 6, 6, 2, 6], 8, 8).Decode();
        for (int y = 0; y < 8; y++)
            for (int x = 0; x < 8; x++)
                Assert.Equal(x is >= 2 and <= 5 && y is >= 2 and <= 5 ? 1 : 0, mask[y * 8 + x]);
    }

    [Fact]
    public void MergeUnitesOrIntersectsAndIouFollowsCrowdRule()
    {
        var a = CocoRle.FromPolygon([0, 0, 4, 0, 4, 4, 0, 4], 6, 6);   // pixels x 0..3, y 0..3: 16
        var b = CocoRle.FromPolygon([2, 2, 6, 2, 6, 6, 2, 6], 6, 6);   // pixels x 2..5, y 2..5: 16, overlap 4
        Assert.Equal(28, CocoRle.Merge([a, b], intersect: false).Area);
        Assert.Equal(4, CocoRle.Merge([a, b], intersect: true).Area);
        Assert.Equal(4.0 / 28, CocoRle.Iou(a, b, crowd: false), 15);
        Assert.Equal(4.0 / 16, CocoRle.Iou(a, b, crowd: true), 15);
        var empty = CocoRle.Encode(new byte[36], 6, 6);
        Assert.Equal(0, CocoRle.Iou(empty, b, crowd: false));
        Assert.Equal((0.0, 0.0, 0.0, 0.0), empty.ToBox());
    }

    [Fact]
    public void BadInputsAreErrors()
    {
        Assert.Contains("at least 3 points", Assert.Throws<ArgumentException>(() => CocoRle.FromPolygon([1, 2, 3, 4], 5, 5)).Message);
        Assert.Contains("add up to 5", Assert.Throws<ArgumentException>(() => new CocoRle(2, 3, [1, 4])).Message);
        Assert.Throws<FormatException>(() => CocoRle.FromCompressedString("0~", 2, 3));
        Assert.Throws<FormatException>(() => CocoRle.FromCompressedString("T", 2, 3));
        Assert.Throws<ArgumentException>(() => CocoRle.Iou(new CocoRle(1, 2, [2]), new CocoRle(2, 1, [2]), crowd: false));
    }

    private static JsonDocument LoadCases() =>
        JsonDocument.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Golden", "coco", "polygons.json")));
}
