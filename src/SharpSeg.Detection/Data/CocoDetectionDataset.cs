using SharpSeg.Data;

namespace SharpSeg.Detection.Data;

/// <summary>
/// A COCO-format detection dataset: an images folder and an <c>instances_*.json</c> file. Samples are the file's images
/// in ascending id order (images without annotations included); each target holds the boxes (<c>[x, y, w, h]</c> →
/// <c>[x, y, x + w, y + h]</c>), contiguous labels (categories sorted by id → 1, 2, …), instance masks from polygons or
/// RLE (when <see cref="LoadMasks"/>), <c>iscrowd</c>, the stored <c>area</c> and the image id. Crowd regions are kept
/// and flagged (torchvision's <c>ConvertCocoPolysToMask</c> drops them for training: use
/// <see cref="DetectionTarget.WithoutCrowds"/> in the training pipeline to do the same). Every listed image file
/// must exist; a decoded image must have the size the file declares. Equivalent to torchvision's
/// <c>CocoDetection(root, annFile)</c> followed by the detection references' <c>ConvertCocoPolysToMask</c>.
/// </summary>
public sealed class CocoDetectionDataset : DetectionDataset
{
    private readonly long[] _imageIds;

    /// <summary>Reads the annotation file and checks that every image file exists.</summary>
    /// <param name="imagesRoot">Folder the images' <c>file_name</c>s are relative to.</param>
    /// <param name="annotationFile">The COCO instances JSON.</param>
    /// <param name="transforms">Applied by <see cref="DetectionDataset.Get"/>.</param>
    /// <param name="loadMasks">Decode instance masks (Mask R-CNN); false for box-only training.</param>
    /// <param name="options">Reading options (box tolerance).</param>
    /// <exception cref="InvalidDataException">The annotation file is malformed or has an invalid entry.</exception>
    /// <exception cref="FileNotFoundException">An image file is missing; the message names it and its image id.</exception>
    public CocoDetectionDataset(string imagesRoot, string annotationFile, IDetectionTransform? transforms = null,
        bool loadMasks = true, CocoReadOptions? options = null)
        : this(imagesRoot, CocoAnnotationFile.Load(annotationFile, options), transforms, loadMasks)
    {
    }

    /// <summary>Wraps an annotation file already read.</summary>
    public CocoDetectionDataset(string imagesRoot, CocoAnnotationFile annotations, IDetectionTransform? transforms = null,
        bool loadMasks = true)
        : base(annotations.ClassNames, transforms)
    {
        if (!Directory.Exists(imagesRoot))
            throw new DirectoryNotFoundException($"COCO images folder {imagesRoot} does not exist.");
        ImagesRoot = imagesRoot;
        Annotations = annotations;
        LoadMasks = loadMasks;
        _imageIds = [.. annotations.Images.Select(i => i.Id).Order()];
        foreach (var image in annotations.Images)
        {
            string path = Path.Combine(imagesRoot, image.FileName);
            if (!File.Exists(path))
                throw new FileNotFoundException(
                    $"{annotations.Path}: image {image.Id} names file {image.FileName}, but {path} does not exist.", path);
        }
    }

    /// <summary>Folder of the images.</summary>
    public string ImagesRoot { get; }

    /// <summary>The annotation file.</summary>
    public CocoAnnotationFile Annotations { get; }

    /// <summary>Whether targets carry instance masks.</summary>
    public bool LoadMasks { get; }

    /// <summary>Image ids in sample order.</summary>
    public IReadOnlyList<long> ImageIds => _imageIds;

    /// <inheritdoc />
    public override int Count => _imageIds.Length;

    /// <inheritdoc />
    public override string SourceName(int index) => Path.Combine(ImagesRoot, Annotations.ImagesById[_imageIds[index]].FileName);

    /// <inheritdoc />
    protected override DetectionSample LoadUnchecked(int index)
    {
        var info = Annotations.ImagesById[_imageIds[index]];
        string path = SourceName(index);
        var decoded = ImageInput.Read(path, 3);
        if (decoded.Height != info.Height || decoded.Width != info.Width)
            throw new InvalidDataException(
                $"{Annotations.Path}: image {info.Id} declares {info.Width}×{info.Height} but {path} is {decoded.Width}×{decoded.Height}.");
        var image = decoded as Image<float> ?? decoded.ToFloat();
        return new DetectionSample(image, TargetOf(info), path);
    }

    /// <summary>The target of one image as the dataset builds it (without reading the image).</summary>
    public DetectionTarget TargetOf(CocoImageInfo info)
    {
        var annotations = Annotations.AnnotationsByImage[info.Id];
        int count = annotations.Count;
        var boxes = new float[count * 4];
        var labels = new int[count];
        var crowd = new bool[count];
        var area = new float[count];
        var ignore = new bool[count];
        var masks = LoadMasks ? new InstanceMasks(count, info.Height, info.Width) : null;
        for (int i = 0; i < count; i++)
        {
            var a = annotations[i];
            // float32 like torchvision's torch.as_tensor(boxes, dtype=torch.float32), x2 = x + w as its in-place add, then
            // clamped to the image (the reader allowed only rounding overshoot).
            float x = (float)a.Box.X, y = (float)a.Box.Y;
            boxes[4 * i] = Math.Clamp(x, 0, info.Width);
            boxes[4 * i + 1] = Math.Clamp(y, 0, info.Height);
            boxes[4 * i + 2] = Math.Clamp(x + (float)a.Box.Width, 0, info.Width);
            boxes[4 * i + 3] = Math.Clamp(y + (float)a.Box.Height, 0, info.Height);
            labels[i] = Annotations.CategoriesById[a.CategoryId].Label;
            crowd[i] = a.IsCrowd;
            area[i] = (float)a.Area;
            ignore[i] = a.Ignore;
            if (masks is not null)
            {
                if (a.Segmentation is null)
                    throw new InvalidDataException(
                        $"{Annotations.Path}, line {a.Line}: annotation {a.Id} (image {info.Id}) has no segmentation, which loading masks needs " +
                        "(open the dataset with loadMasks: false for boxes only).");
                a.Segmentation.ToRle(info.Height, info.Width).Decode().CopyTo(masks[i]);
            }
        }
        // An annotation's "ignore" flag travels as the evaluation-only Difficult flag (null when the file uses none).
        return new DetectionTarget(boxes, labels, masks, crowd, area, info.Id, ignore.Contains(true) ? ignore : null);
    }
}
