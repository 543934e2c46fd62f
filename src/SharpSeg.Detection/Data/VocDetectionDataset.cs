using System.Globalization;
using System.Xml;
using System.Xml.Linq;
using SharpSeg.Data;

namespace SharpSeg.Detection.Data;

/// <summary>
/// A Pascal VOC detection dataset: <c>ImageSets/Main/&lt;split&gt;.txt</c> lists image ids, <c>Annotations/&lt;id&gt;.xml</c>
/// holds each image's <c>size</c> and <c>object</c>s (<c>name</c>, <c>difficult</c>, <c>bndbox</c>), and
/// <c>JPEGImages/&lt;id&gt;.jpg</c> the image. VOC boxes are 1-based inclusive pixel indices; as detectron2's VOC loader
/// does, <c>xmin − 1, ymin − 1, xmax, ymax</c> gives torchvision's 0-based <c>[x1, y1, x2, y2)</c> box covering the same
/// pixels. <c>difficult</c> objects are kept and flagged (<see cref="DetectionTarget.Difficult"/>). A malformed file, an
/// unknown class name, a box with non-positive size or outside the image, or a missing image is an error naming the
/// file, the object and the line. Equivalent to torchvision's <c>VOCDetection</c> with a target converter.
/// </summary>
public sealed class VocDetectionDataset : DetectionDataset
{
    /// <summary>The 20 Pascal VOC classes in their usual order (labels 1…20).</summary>
    public static IReadOnlyList<string> VocClasses { get; } =
    [
        "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow", "diningtable", "dog",
        "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
    ];

    private readonly List<(string Id, string Image, string Annotation)> _samples = [];

    /// <summary>Reads the split list and checks every annotation and image file exists.</summary>
    /// <param name="root">The VOC folder (<c>VOC2007</c>, holding <c>Annotations</c>, <c>JPEGImages</c>, <c>ImageSets</c>).</param>
    /// <param name="split">The list under <c>ImageSets/Main</c> (<c>train</c>, <c>val</c>, <c>trainval</c>, <c>test</c>).</param>
    /// <param name="classNames">Object classes (labels 1…); <see cref="VocClasses"/> by default.</param>
    /// <param name="transforms">Applied by <see cref="DetectionDataset.Get"/>.</param>
    public VocDetectionDataset(string root, string split = "trainval", IReadOnlyList<string>? classNames = null,
        IDetectionTransform? transforms = null)
        : base(["background", .. classNames ?? VocClasses], transforms)
    {
        Root = root;
        string list = Path.Combine(root, "ImageSets", "Main", split + ".txt");
        if (!File.Exists(list))
            throw new FileNotFoundException($"VOC split list {list} does not exist.", list);
        int lineNumber = 0;
        foreach (string raw in File.ReadLines(list))
        {
            lineNumber++;
            string id = raw.Trim();
            if (id.Length == 0)
                continue;
            if (id.Contains(' ') || id.Contains('\t'))
                throw new InvalidDataException($"{list}, line {lineNumber}: expected one image id, got \"{id}\".");
            string annotation = Path.Combine(root, "Annotations", id + ".xml"), image = Path.Combine(root, "JPEGImages", id + ".jpg");
            if (!File.Exists(annotation))
                throw new FileNotFoundException($"{list}, line {lineNumber}: annotation {annotation} does not exist.", annotation);
            if (!File.Exists(image))
                throw new FileNotFoundException($"{list}, line {lineNumber}: image {image} does not exist.", image);
            _samples.Add((id, image, annotation));
        }
    }

    /// <summary>The VOC folder.</summary>
    public string Root { get; }

    /// <inheritdoc />
    public override int Count => _samples.Count;

    /// <inheritdoc />
    public override string SourceName(int index) => _samples[index].Image;

    /// <summary>The image id (file stem) of sample <paramref name="index"/>.</summary>
    public string ImageId(int index) => _samples[index].Id;

    /// <inheritdoc />
    protected override DetectionSample LoadUnchecked(int index)
    {
        var (_, imagePath, annotationPath) = _samples[index];
        var annotation = ReadAnnotation(annotationPath, ClassNames, index);
        var decoded = ImageInput.Read(imagePath, 3);
        if (annotation.Height != decoded.Height || annotation.Width != decoded.Width)
            throw new InvalidDataException(
                $"{annotationPath}: size {annotation.Width}×{annotation.Height} differs from image {imagePath}'s {decoded.Width}×{decoded.Height}.");
        var image = decoded as Image<float> ?? decoded.ToFloat();
        return new DetectionSample(image, annotation.Target, imagePath);
    }

    /// <summary>Parses one VOC annotation file into a target (boxes converted to 0-based <c>[x1, y1, x2, y2)</c>).</summary>
    /// <exception cref="InvalidDataException">Malformed XML or an invalid object; the message names file, object and line.</exception>
    public static (int Height, int Width, DetectionTarget Target) ReadAnnotation(string path, IReadOnlyList<string> classNames, long imageId)
    {
        XDocument document;
        try
        {
            document = XDocument.Load(path, LoadOptions.SetLineInfo);
        }
        catch (XmlException e)
        {
            throw new InvalidDataException($"{path}, line {e.LineNumber}: malformed XML ({e.Message})", e);
        }
        var root = document.Root!;
        var size = root.Element("size") ?? throw new InvalidDataException($"{path}: the annotation has no <size>.");
        int width = Integer(size, "width", path), height = Integer(size, "height", path);
        if (width <= 0 || height <= 0)
            throw new InvalidDataException($"{path}, line {Line(size)}: size {width}×{height} is not positive.");

        var boxes = new List<float>();
        var labels = new List<int>();
        var difficult = new List<bool>();
        int objectIndex = 0;
        foreach (var element in root.Elements("object"))
        {
            string where = $"{path}, line {Line(element)}: object {objectIndex}";
            string name = element.Element("name")?.Value.Trim() ?? throw new InvalidDataException($"{where} has no <name>.");
            int label = IndexOf(classNames, name);
            if (label < 1)
                throw new InvalidDataException(
                    $"{where} ({name}): unknown class \"{name}\"; the dataset's classes are {string.Join(", ", classNames.Skip(1))}.");
            where += $" ({name})";
            var box = element.Element("bndbox") ?? throw new InvalidDataException($"{where} has no <bndbox>.");
            double xmin = Number(box, "xmin", where), ymin = Number(box, "ymin", where);
            double xmax = Number(box, "xmax", where), ymax = Number(box, "ymax", where);
            if (!(xmax >= xmin && ymax >= ymin))
                throw new InvalidDataException($"{where}: bndbox ({xmin}, {ymin})–({xmax}, {ymax}) has non-positive size.");
            if (xmin < 1 || ymin < 1 || xmax > width || ymax > height)
                throw new InvalidDataException(
                    $"{where}: bndbox ({xmin}, {ymin})–({xmax}, {ymax}) lies outside the {width}×{height} image (VOC pixels are 1…{width} × 1…{height}).");
            boxes.AddRange([(float)(xmin - 1), (float)(ymin - 1), (float)xmax, (float)ymax]);
            labels.Add(label);
            string? flag = element.Element("difficult")?.Value.Trim();
            difficult.Add(flag switch
            {
                null or "" or "0" => false,
                "1" => true,
                _ => throw new InvalidDataException($"{where}: <difficult> is \"{flag}\"; it must be 0 or 1."),
            });
            objectIndex++;
        }
        return (height, width, new DetectionTarget([.. boxes], [.. labels], imageId: imageId, difficult: [.. difficult]));
    }

    private static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (int i = 0; i < names.Count; i++)
            if (names[i] == name)
                return i;
        return -1;
    }

    private static int Line(XElement element) => ((IXmlLineInfo)element).LineNumber;

    private static int Integer(XElement parent, string name, string path)
    {
        var element = parent.Element(name) ?? throw new InvalidDataException($"{path}, line {Line(parent)}: <{parent.Name}> has no <{name}>.");
        if (!int.TryParse(element.Value.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int value))
            throw new InvalidDataException($"{path}, line {Line(element)}: <{name}> is \"{element.Value}\", not an integer.");
        return value;
    }

    private static double Number(XElement parent, string name, string where)
    {
        var element = parent.Element(name) ?? throw new InvalidDataException($"{where}: <bndbox> has no <{name}>.");
        if (!double.TryParse(element.Value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value))
            throw new InvalidDataException($"{where}: <{name}> is \"{element.Value}\", not a number.");
        return value;
    }
}
