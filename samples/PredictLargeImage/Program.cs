// Segments an image of any size with overlap-tile prediction (U-Net's tiling, PaddleSeg's slide inference without
// averaging): the image is cut into tiles, each predicted with a margin of context that is then thrown away, so memory
// stays at one batch of tiles however large the scene is and tile borders leave no seams.
// Usage: dotnet run -- MODEL_DIR IMAGE OUT_PREFIX [tile] [pad]
//   MODEL_DIR  a saved model, e.g. the TrainOnFolder sample's DATA/output/best_model
//   writes OUT_PREFIX_labels.png (class ids), OUT_PREFIX_color.png (pseudo colour) and OUT_PREFIX_overlay.png
using SharpSeg.Data;
using SharpSeg.Training;
using SharpSeg.Training.Visualization;

if (args.Length < 3)
{
    Console.Error.WriteLine("usage: PredictLargeImage MODEL_DIR IMAGE OUT_PREFIX [tile] [pad]");
    return 2;
}
string modelDir = args[0], imagePath = args[1], outPrefix = args[2];
int tile = args.Length > 3 ? int.Parse(args[3]) : 512;
int pad = args.Length > 4 ? int.Parse(args[4]) : 64;

var segmenter = Segmenter.Load(modelDir);
// ReadImage reads the file the way training did (8-bit as RGB, 16-bit PNG values kept).
var image = segmenter.ReadImage(imagePath);

// The labels alone: no full-image score map is built, so a satellite scene fits in memory.
var labels = segmenter.OverlapTilePredictLabels(image, tileSize: (tile, tile), padSize: (pad, pad), batchSize: 8);

LabelVisualizer.WriteLabelPng(outPrefix + "_labels.png", labels);
LabelVisualizer.WritePseudoColorPng(outPrefix + "_color.png", labels);
ImageFile.WritePng(outPrefix + "_overlay.png", LabelVisualizer.Overlay(image, labels));

var counts = new long[segmenter.NumClasses];
foreach (int label in labels.Pixels) counts[label]++;
Console.WriteLine($"{image.Width}x{image.Height} px in {tile}px tiles (+{pad}px context): "
    + string.Join(", ", counts.Select((c, k) => $"class {k}: {c} px")));
return 0;
