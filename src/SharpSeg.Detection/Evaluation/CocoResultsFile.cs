using System.Globalization;
using System.Text;
using System.Text.Json;
using SharpSeg.Data;
using SharpSeg.Detection.Data;

namespace SharpSeg.Detection.Evaluation;

/// <summary>
/// Reads and writes COCO results files: a JSON list of <c>{"image_id", "category_id", "score", "bbox": [x, y, w, h]}</c>
/// and/or <c>"segmentation": {"size": [h, w], "counts": "…"}</c> entries. Equivalent to what <c>COCO.loadRes</c> reads
/// and torchvision's <c>prepare_for_coco_detection</c>/<c>prepare_for_coco_segmentation</c> write.
/// </summary>
public static class CocoResultsFile
{
    /// <summary>
    /// Reads detections, checking each against the ground-truth file: its image and category must exist and a mask must
    /// have its image's size. A detection without <c>bbox</c> gets its mask's box (<c>maskUtils.toBbox</c>), as
    /// <c>loadRes</c> does.
    /// </summary>
    /// <exception cref="InvalidDataException">Malformed JSON or an invalid entry; the message names file, entry and line.</exception>
    public static IReadOnlyList<CocoDetection> Load(string path, CocoAnnotationFile groundTruth)
    {
        ArgumentNullException.ThrowIfNull(groundTruth);
        if (!File.Exists(path))
            throw new FileNotFoundException($"COCO results file {path} does not exist.", path);
        byte[] json = File.ReadAllBytes(path);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}, line {e.LineNumber + 1}: malformed JSON ({e.Message})", e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Array)
                throw new InvalidDataException($"{path}: a COCO results file is a JSON list of detections.");
            var lines = LinesOfTopLevelElements(json);
            var detections = new List<CocoDetection>();
            int index = 0;
            foreach (var element in document.RootElement.EnumerateArray())
            {
                string where = $"{path}, line {(index < lines.Count ? lines[index] : 0)}: result {index}";
                detections.Add(Read(element, groundTruth, where));
                index++;
            }
            return detections;
        }
    }

    /// <summary>Writes detections as a COCO results file, atomically (boxes always, masks when present).</summary>
    public static void Write(string path, IEnumerable<CocoDetection> detections)
    {
        var text = new StringBuilder("[");
        bool first = true;
        foreach (var d in detections)
        {
            text.Append(first ? "\n" : ",\n");
            first = false;
            text.Append(CultureInfo.InvariantCulture,
                $"{{\"image_id\":{d.ImageId},\"category_id\":{d.CategoryId},\"score\":{d.Score:R},\"bbox\":[{d.Box.X:R},{d.Box.Y:R},{d.Box.Width:R},{d.Box.Height:R}]");
            if (d.Mask is { } mask)
                text.Append(CultureInfo.InvariantCulture,
                    $",\"segmentation\":{{\"size\":[{mask.Height},{mask.Width}],\"counts\":{JsonSerializer.Serialize(mask.ToCompressedString())}}}");
            text.Append('}');
        }
        text.Append("\n]\n");
        AtomicFile.WriteAllText(path, text.ToString());
    }

    private static CocoDetection Read(JsonElement element, CocoAnnotationFile groundTruth, string where)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{where}: a result must be a JSON object.");
        long imageId = Integer(element, "image_id", where);
        if (!groundTruth.ImagesById.TryGetValue(imageId, out var image))
            throw new InvalidDataException($"{where}: image_id {imageId} is not an image of {groundTruth.Path}.");
        int categoryId = checked((int)Integer(element, "category_id", where));
        if (!groundTruth.CategoriesById.ContainsKey(categoryId))
            throw new InvalidDataException($"{where}: category_id {categoryId} is not a category of {groundTruth.Path}.");
        if (!element.TryGetProperty("score", out var scoreElement) || scoreElement.ValueKind != JsonValueKind.Number ||
            !double.IsFinite(scoreElement.GetDouble()))
            throw new InvalidDataException($"{where}: \"score\" must be a finite number.");
        CocoRle? mask = null;
        if (element.TryGetProperty("segmentation", out var segmentation))
        {
            if (segmentation.ValueKind != JsonValueKind.Object || !segmentation.TryGetProperty("counts", out var counts) ||
                counts.ValueKind != JsonValueKind.String || !segmentation.TryGetProperty("size", out var size) ||
                size.ValueKind != JsonValueKind.Array || size.GetArrayLength() != 2)
                throw new InvalidDataException($"{where}: \"segmentation\" must be a compressed RLE {{\"size\": [h, w], \"counts\": \"…\"}}.");
            int h = size[0].GetInt32(), w = size[1].GetInt32();
            if (h != image.Height || w != image.Width)
                throw new InvalidDataException($"{where}: mask size [{h}, {w}] is not image {imageId}'s size [{image.Height}, {image.Width}].");
            try
            {
                mask = CocoRle.FromCompressedString(counts.GetString()!, h, w);
            }
            catch (FormatException e)
            {
                throw new InvalidDataException($"{where}: invalid RLE: {e.Message}", e);
            }
        }
        CocoBox box;
        if (element.TryGetProperty("bbox", out var bbox))
        {
            if (bbox.ValueKind != JsonValueKind.Array || bbox.GetArrayLength() != 4 ||
                bbox.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.Number))
                throw new InvalidDataException($"{where}: \"bbox\" must be [x, y, width, height].");
            box = new CocoBox(bbox[0].GetDouble(), bbox[1].GetDouble(), bbox[2].GetDouble(), bbox[3].GetDouble());
        }
        else if (mask is not null)
        {
            var (x, y, w, h) = mask.ToBox();
            box = new CocoBox(x, y, w, h);
        }
        else
            throw new InvalidDataException($"{where}: a result needs \"bbox\" or \"segmentation\".");
        return new CocoDetection(imageId, categoryId, scoreElement.GetDouble(), box, mask);
    }

    private static long Integer(JsonElement element, string name, string where)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out long result))
            throw new InvalidDataException($"{where}: \"{name}\" must be an integer.");
        return result;
    }

    private static List<int> LinesOfTopLevelElements(ReadOnlySpan<byte> json)
    {
        var lines = new List<int>();
        var reader = new Utf8JsonReader(json);
        int line = 1;
        long counted = 0;
        while (reader.Read())
            if (reader.CurrentDepth == 1 && reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray
                    or JsonTokenType.Number or JsonTokenType.String or JsonTokenType.True or JsonTokenType.False or JsonTokenType.Null)
            {
                line += json[(int)counted..(int)reader.TokenStartIndex].Count((byte)'\n');
                counted = reader.TokenStartIndex;
                lines.Add(line);
            }
        return lines;
    }
}
