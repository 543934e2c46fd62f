using SharpSeg.Data;

namespace SharpSeg.Training;

/// <summary>
/// Receives the class probabilities of one tile of an overlap-tile prediction (see
/// <see cref="Segmenter.OverlapTilePredictLabels"/>): <paramref name="scores"/> is the tile's H×W×K map (K classes, HWC as
/// <see cref="Prediction.ScoreMap"/>) whose top-left pixel is image row <paramref name="top"/>, column
/// <paramref name="left"/>. Tiles arrive in raster order (left to right, then the next row of tiles), as
/// <see cref="NpyBlockWriter.WriteBlock"/> takes them, and the map is the handler's to keep.
/// </summary>
public delegate void TileScoresHandler(int top, int left, Image<float> scores);
