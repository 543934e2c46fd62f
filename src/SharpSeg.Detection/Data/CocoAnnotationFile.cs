using System.Text.Json;
using SharpSeg.Detection.Evaluation;

namespace SharpSeg.Detection.Data;

/// <summary>An entry of a COCO file's <c>images</c>.</summary>
/// <param name="Id">The image id.</param>
/// <param name="FileName">The image file, relative to the images folder (<c>file_name</c>).</param>
/// <param name="Height">Declared height in pixels.</param>
/// <param name="Width">Declared width in pixels.</param>
public sealed record CocoImageInfo(long Id, string FileName, int Height, int Width);

/// <summary>An entry of a COCO file's <c>categories</c>.</summary>
/// <param name="Id">The COCO category id (not contiguous in COCO itself: 1…90 with gaps).</param>
/// <param name="Name">The category name.</param>
/// <param name="Label">The contiguous class id it maps to: categories sorted by id become 1, 2, … (0 is the background).</param>
public sealed record CocoCategory(int Id, string Name, int Label);

/// <summary>
/// An object's segmentation in a COCO file: polygons (one or more parts, <c>[[x1, y1, x2, y2, …], …]</c>) or an RLE
/// (uncompressed <c>{"counts": [..], "size": [h, w]}</c> or compressed <c>{"counts": "…", "size": [h, w]}</c>).
/// </summary>
public sealed class CocoSegmentation
{
    private CocoSegmentation(IReadOnlyList<double[]>? polygons, CocoRle? rle)
    {
        Polygons = polygons;
        Rle = rle;
    }

    /// <summary>The polygon parts, or null for an RLE.</summary>
    public IReadOnlyList<double[]>? Polygons { get; }

    /// <summary>The RLE, or null for polygons.</summary>
    public CocoRle? Rle { get; }

    /// <summary>A polygon segmentation.</summary>
    public static CocoSegmentation FromPolygons(IReadOnlyList<double[]> polygons) => new(polygons, null);

    /// <summary>An RLE segmentation.</summary>
    public static CocoSegmentation FromRle(CocoRle rle) => new(null, rle);

    /// <summary>
    /// The mask as an RLE of the image's size: polygons rasterised and united, RLEs as stored. Equivalent to
    /// <c>COCO.annToRLE</c>.
    /// </summary>
    public CocoRle ToRle(int height, int width) => Rle ?? CocoRle.FromPolygons(Polygons!, height, width);
}

/// <summary>An entry of a COCO file's <c>annotations</c>.</summary>
/// <param name="Id">The annotation id.</param>
/// <param name="ImageId">The image it belongs to.</param>
/// <param name="CategoryId">Its COCO category id.</param>
/// <param name="Box">Its <c>bbox</c> <c>[x, y, w, h]</c>.</param>
/// <param name="Area">Its stored <c>area</c> (the mask area COCO computed; used by the evaluation's area ranges).</param>
/// <param name="IsCrowd">Its <c>iscrowd</c> flag.</param>
/// <param name="Segmentation">Its segmentation, or null when the file has none (box-only data).</param>
/// <param name="Line">The line of the file where the annotation starts (1-based).</param>
/// <param name="Ignore">Its optional <c>ignore</c> flag (0 or 1; absent = 0): evaluation ignores the object
/// (<see cref="Evaluation.CocoGroundTruth.Ignore"/>).</param>
public sealed record CocoAnnotation(long Id, long ImageId, int CategoryId, CocoBox Box, double Area, bool IsCrowd,
    CocoSegmentation? Segmentation, int Line, bool Ignore = false);

/// <summary>Options of <see cref="CocoAnnotationFile.Load(string, CocoReadOptions?)"/>.</summary>
/// <param name="BoxTolerance">How far (pixels) a box may reach past the image edge: COCO's own files hold boxes that
/// overshoot by rounding (x + w = 640.01 on a 640-wide image). Such a box is kept as written in
/// <see cref="CocoAnnotation.Box"/> (what COCOeval compares) and clipped to the image in the training target, as
/// torchvision's <c>ConvertCocoPolysToMask</c> clamps; a box further out is an error.</param>
public sealed record CocoReadOptions(double BoxTolerance = 1.0);

/// <summary>
/// A COCO <c>instances_*.json</c> file: images, categories and annotations, checked as it is read. Every problem —
/// malformed JSON, a missing field, an annotation naming an unknown image or category, a box with non-positive size or
/// outside its image, an empty or degenerate polygon, an RLE whose size is not its image's or whose counts do not
/// cover it, duplicate ids — throws <see cref="InvalidDataException"/> naming the file, the annotation or image id and
/// the line; nothing is dropped. Images without annotations are kept. Equivalent to <c>pycocotools.coco.COCO(path)</c>.
/// </summary>
public sealed class CocoAnnotationFile
{
    private CocoAnnotationFile(string path, List<CocoImageInfo> images, List<CocoCategory> categories, List<CocoAnnotation> annotations)
    {
        Path = path;
        Images = images;
        Categories = categories;
        Annotations = annotations;
        ImagesById = images.ToDictionary(i => i.Id);
        CategoriesById = categories.ToDictionary(c => c.Id);
        var byImage = images.ToDictionary(i => i.Id, _ => new List<CocoAnnotation>());
        foreach (var annotation in annotations)
            byImage[annotation.ImageId].Add(annotation);
        AnnotationsByImage = byImage.ToDictionary(p => p.Key, p => (IReadOnlyList<CocoAnnotation>)p.Value);
    }

    /// <summary>The file read.</summary>
    public string Path { get; }

    /// <summary>Images in file order.</summary>
    public IReadOnlyList<CocoImageInfo> Images { get; }

    /// <summary>Categories sorted by id, with their contiguous labels.</summary>
    public IReadOnlyList<CocoCategory> Categories { get; }

    /// <summary>Annotations in file order.</summary>
    public IReadOnlyList<CocoAnnotation> Annotations { get; }

    /// <summary>Images by id.</summary>
    public IReadOnlyDictionary<long, CocoImageInfo> ImagesById { get; }

    /// <summary>Categories by COCO id.</summary>
    public IReadOnlyDictionary<int, CocoCategory> CategoriesById { get; }

    /// <summary>Each image's annotations in file order (empty for an image without any). <c>COCO.imgToAnns</c>.</summary>
    public IReadOnlyDictionary<long, IReadOnlyList<CocoAnnotation>> AnnotationsByImage { get; }

    /// <summary>Class names by contiguous label: "background", then the category names in id order.</summary>
    public IReadOnlyList<string> ClassNames => ["background", .. Categories.Select(c => c.Name)];

    /// <summary>The COCO category id of each contiguous label (index 0, the background, holds 0).</summary>
    public IReadOnlyList<int> CategoryIdsByLabel => [0, .. Categories.Select(c => c.Id)];

    /// <summary>The annotations of <paramref name="imageId"/> as evaluation ground truths (segmentations as RLE).</summary>
    public IReadOnlyList<CocoGroundTruth> GroundTruths(long imageId)
    {
        var image = ImagesById[imageId];
        return [.. AnnotationsByImage[imageId].Select(a => new CocoGroundTruth(a.ImageId, a.CategoryId, a.Box, a.Area, a.IsCrowd,
            a.Segmentation?.ToRle(image.Height, image.Width), a.Ignore))];
    }

    /// <summary>Reads and checks a COCO instances file.</summary>
    /// <exception cref="InvalidDataException">The file is malformed or an entry is invalid; the message names the file,
    /// the entry and its line.</exception>
    public static CocoAnnotationFile Load(string path, CocoReadOptions? options = null)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"COCO annotation file {path} does not exist.", path);
        return Parse(File.ReadAllBytes(path), path, options ?? new CocoReadOptions());
    }

    /// <summary>Parses COCO instances JSON held in memory; <paramref name="nameForErrors"/> names it in messages.</summary>
    /// <exception cref="InvalidDataException">The JSON is malformed or an entry is invalid.</exception>
    public static CocoAnnotationFile Parse(byte[] json, string nameForErrors, CocoReadOptions? options = null)
    {
        options ??= new CocoReadOptions();
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException(
                $"{nameForErrors}, line {e.LineNumber + 1}: malformed JSON ({e.Message})", e);
        }
        using (document)
        {
            var lines = JsonLines.ElementLines(json, ["images", "annotations", "categories"]);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{nameForErrors}: a COCO file is a JSON object with images, annotations and categories.");
            var reader = new Reader(nameForErrors, lines);
            var images = reader.ReadImages(reader.RequiredArray(root, "images"));
            var categories = reader.ReadCategories(reader.RequiredArray(root, "categories"));
            var annotations = root.TryGetProperty("annotations", out var annotationArray)
                ? reader.ReadAnnotations(annotationArray, images, categories, options)
                : [];
            return new CocoAnnotationFile(nameForErrors, images, categories, annotations);
        }
    }

    /// <summary>Reads the JSON elements into records, naming file, entry and line in every error.</summary>
    private sealed class Reader(string file, Dictionary<string, List<int>> lines)
    {
        public JsonElement RequiredArray(JsonElement root, string name)
        {
            if (!root.TryGetProperty(name, out var array) || array.ValueKind != JsonValueKind.Array)
                throw new InvalidDataException($"{file}: the COCO file has no \"{name}\" array.");
            return array;
        }

        public List<CocoImageInfo> ReadImages(JsonElement array)
        {
            var images = new List<CocoImageInfo>();
            var seen = new HashSet<long>();
            int index = 0;
            foreach (var element in array.EnumerateArray())
            {
                string where = Where("images", index, null);
                long id = IntField(element, "id", where);
                where = Where("images", index, $"image {id}");
                if (!seen.Add(id))
                    throw new InvalidDataException($"{where}: image id {id} appears more than once.");
                string fileName = String(element, "file_name", where);
                int height = checked((int)IntField(element, "height", where)), width = checked((int)IntField(element, "width", where));
                if (height <= 0 || width <= 0)
                    throw new InvalidDataException($"{where}: size {height}×{width} is not positive.");
                images.Add(new CocoImageInfo(id, fileName, height, width));
                index++;
            }
            return images;
        }

        public List<CocoCategory> ReadCategories(JsonElement array)
        {
            var entries = new List<(int Id, string Name)>();
            int index = 0;
            foreach (var element in array.EnumerateArray())
            {
                string where = Where("categories", index, null);
                int id = checked((int)IntField(element, "id", where));
                where = Where("categories", index, $"category {id}");
                if (entries.Any(e => e.Id == id))
                    throw new InvalidDataException($"{where}: category id {id} appears more than once.");
                entries.Add((id, String(element, "name", where)));
                index++;
            }
            if (entries.Count == 0)
                throw new InvalidDataException($"{file}: the COCO file has no categories.");
            return [.. entries.OrderBy(e => e.Id).Select((e, i) => new CocoCategory(e.Id, e.Name, i + 1))];
        }

        public List<CocoAnnotation> ReadAnnotations(JsonElement array, List<CocoImageInfo> images, List<CocoCategory> categories,
            CocoReadOptions options)
        {
            if (array.ValueKind != JsonValueKind.Array)
                throw new InvalidDataException($"{file}: \"annotations\" is not an array.");
            var imagesById = images.ToDictionary(i => i.Id);
            var categoryIds = categories.Select(c => c.Id).ToHashSet();
            var annotations = new List<CocoAnnotation>();
            var seen = new HashSet<long>();
            int index = 0;
            foreach (var element in array.EnumerateArray())
            {
                string where = Where("annotations", index, null);
                long id = IntField(element, "id", where);
                where = Where("annotations", index, $"annotation {id}");
                if (!seen.Add(id))
                    throw new InvalidDataException($"{where}: annotation id {id} appears more than once.");
                long imageId = IntField(element, "image_id", where);
                if (!imagesById.TryGetValue(imageId, out var image))
                    throw new InvalidDataException($"{where}: image_id {imageId} is not in the file's images.");
                where += $" (image {imageId}, {image.FileName})";
                int categoryId = checked((int)IntField(element, "category_id", where));
                if (!categoryIds.Contains(categoryId))
                    throw new InvalidDataException(
                        $"{where}: category_id {categoryId} is not among the file's categories [{string.Join(", ", categoryIds.Order())}].");
                bool crowd = element.TryGetProperty("iscrowd", out var crowdElement) && IntValue(crowdElement, where, "iscrowd") switch
                {
                    0 => false,
                    1 => true,
                    var other => throw new InvalidDataException($"{where}: iscrowd is {other}; it must be 0 or 1."),
                };
                bool ignore = element.TryGetProperty("ignore", out var ignoreElement) && IntValue(ignoreElement, where, "ignore") switch
                {
                    0 => false,
                    1 => true,
                    var other => throw new InvalidDataException($"{where}: ignore is {other}; it must be 0 or 1."),
                };
                var box = ReadBox(element, image, options, where);
                var segmentation = element.TryGetProperty("segmentation", out var segmentationElement)
                    ? ReadSegmentation(segmentationElement, image, where)
                    : null;
                double area = element.TryGetProperty("area", out var areaElement)
                    ? Double(areaElement, where, "area")
                    : segmentation?.ToRle(image.Height, image.Width).Area ?? box.Area;
                if (area < 0)
                    throw new InvalidDataException($"{where}: area {area} is negative.");
                annotations.Add(new CocoAnnotation(id, imageId, categoryId, box, area, crowd, segmentation, LineOf("annotations", index), ignore));
                index++;
            }
            return annotations;
        }

        private CocoBox ReadBox(JsonElement element, CocoImageInfo image, CocoReadOptions options, string where)
        {
            if (!element.TryGetProperty("bbox", out var bbox) || bbox.ValueKind != JsonValueKind.Array || bbox.GetArrayLength() != 4)
                throw new InvalidDataException($"{where}: bbox must be [x, y, width, height].");
            var v = bbox.EnumerateArray().Select(e => Double(e, where, "bbox")).ToArray();
            double x = v[0], y = v[1], w = v[2], h = v[3];
            if (!(w > 0 && h > 0))
                throw new InvalidDataException($"{where}: bbox [{x}, {y}, {w}, {h}] has non-positive width or height.");
            double t = options.BoxTolerance;
            if (x < -t || y < -t || x + w > image.Width + t || y + h > image.Height + t)
                throw new InvalidDataException(
                    $"{where}: bbox [{x}, {y}, {w}, {h}] reaches outside the {image.Width}×{image.Height} image " +
                    $"(x from {x} to {x + w}, y from {y} to {y + h}; tolerance {t} px).");
            return new CocoBox(x, y, w, h);
        }

        private CocoSegmentation ReadSegmentation(JsonElement element, CocoImageInfo image, string where)
        {
            if (element.ValueKind == JsonValueKind.Array)
            {
                var polygons = new List<double[]>();
                int part = 0;
                foreach (var polygon in element.EnumerateArray())
                {
                    if (polygon.ValueKind != JsonValueKind.Array)
                        throw new InvalidDataException($"{where}: segmentation polygon {part} is not a list of coordinates.");
                    var xy = polygon.EnumerateArray().Select(e => Double(e, where, $"segmentation polygon {part}")).ToArray();
                    if (xy.Length < 6 || xy.Length % 2 != 0)
                        throw new InvalidDataException(
                            $"{where}: segmentation polygon {part} has {xy.Length} coordinates; a polygon needs at least 3 x, y pairs.");
                    if (ShoelaceArea(xy) == 0)
                        throw new InvalidDataException($"{where}: segmentation polygon {part} is degenerate (its points are collinear, zero area).");
                    polygons.Add(xy);
                    part++;
                }
                if (polygons.Count == 0)
                    throw new InvalidDataException($"{where}: segmentation is an empty polygon list.");
                return CocoSegmentation.FromPolygons(polygons);
            }
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty("counts", out var counts) ||
                !element.TryGetProperty("size", out var size) || size.ValueKind != JsonValueKind.Array || size.GetArrayLength() != 2)
                throw new InvalidDataException($"{where}: segmentation must be polygons or an RLE {{\"counts\", \"size\": [h, w]}}.");
            int h = checked((int)IntValue(size[0], where, "segmentation size")), w = checked((int)IntValue(size[1], where, "segmentation size"));
            if (h != image.Height || w != image.Width)
                throw new InvalidDataException(
                    $"{where}: RLE size [{h}, {w}] is not the image's size [{image.Height}, {image.Width}].");
            try
            {
                if (counts.ValueKind == JsonValueKind.String)
                    return CocoSegmentation.FromRle(CocoRle.FromCompressedString(counts.GetString()!, h, w));
                if (counts.ValueKind != JsonValueKind.Array)
                    throw new InvalidDataException($"{where}: RLE counts must be a list of run lengths or a compressed string.");
                var runs = counts.EnumerateArray().Select(e => IntValue(e, where, "RLE counts")).ToArray();
                if (runs.Any(r => r is < 0 or > uint.MaxValue))
                    throw new InvalidDataException($"{where}: RLE counts hold a negative or too large run length.");
                return CocoSegmentation.FromRle(new CocoRle(h, w, [.. runs.Select(r => (uint)r)]));
            }
            catch (Exception e) when (e is FormatException or ArgumentException)
            {
                throw new InvalidDataException($"{where}: invalid RLE: {e.Message}", e);
            }
        }

        private static double ShoelaceArea(double[] xy)
        {
            double twice = 0;
            int n = xy.Length / 2;
            for (int i = 0; i < n; i++)
            {
                int j = (i + 1) % n;
                twice += xy[2 * i] * xy[2 * j + 1] - xy[2 * j] * xy[2 * i + 1];
            }
            return Math.Abs(twice) / 2;
        }

        private string Where(string array, int index, string? entry) =>
            $"{file}, line {LineOf(array, index)}: {entry ?? $"{array}[{index}]"}";

        private int LineOf(string array, int index) =>
            lines.TryGetValue(array, out var starts) && index < starts.Count ? starts[index] : 0;

        private static long IntField(JsonElement element, string name, string where)
        {
            if (!element.TryGetProperty(name, out var value))
                throw new InvalidDataException($"{where}: the field \"{name}\" is missing.");
            return IntValue(value, where, name);
        }

        private static long IntValue(JsonElement value, string where, string name)
        {
            if (value.ValueKind == JsonValueKind.Number)
            {
                if (value.TryGetInt64(out long integer))
                    return integer;
                // Some exporters write integral fields as 12.0.
                double real = value.GetDouble();
                if (real == Math.Floor(real) && Math.Abs(real) < 9e15)
                    return (long)real;
            }
            throw new InvalidDataException($"{where}: \"{name}\" must be an integer, got {value.GetRawText()}.");
        }

        private static double Double(JsonElement value, string where, string name)
        {
            if (value.ValueKind != JsonValueKind.Number || !double.IsFinite(value.GetDouble()))
                throw new InvalidDataException($"{where}: \"{name}\" must be a finite number, got {value.GetRawText()}.");
            return value.GetDouble();
        }

        private static string String(JsonElement element, string name, string where)
        {
            if (!element.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.String)
                throw new InvalidDataException($"{where}: the string field \"{name}\" is missing.");
            return value.GetString()!;
        }
    }
}

/// <summary>Finds the line on which each element of chosen top-level arrays starts, for error messages.</summary>
internal static class JsonLines
{
    /// <summary>For each named top-level array, the 1-based line of each element's first byte.</summary>
    public static Dictionary<string, List<int>> ElementLines(ReadOnlySpan<byte> json, IReadOnlyCollection<string> arrays)
    {
        var result = new Dictionary<string, List<int>>();
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        int line = 1;
        long counted = 0;
        string? current = null;
        while (reader.Read())
        {
            if (reader.CurrentDepth == 1 && reader.TokenType == JsonTokenType.PropertyName)
            {
                string name = reader.GetString()!;
                current = arrays.Contains(name) ? name : null;
                if (current is not null)
                    result[current] = [];
                continue;
            }
            if (current is not null && reader.CurrentDepth == 2 && reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray
                or JsonTokenType.Number or JsonTokenType.String)
            {
                long start = reader.TokenStartIndex;
                line += json[(int)counted..(int)start].Count((byte)'\n');
                counted = start;
                result[current].Add(line);
            }
        }
        return result;
    }
}
