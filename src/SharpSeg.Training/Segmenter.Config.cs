using SharpSeg.Training.Config;

namespace SharpSeg.Training;

public sealed partial class Segmenter
{
    /// <summary>
    /// Builds the model a PaddleSeg-style config file describes (<c>model:</c> after <c>_base_</c> inheritance), weights
    /// initialised from <see cref="Engine.Random"/>. Equivalent to PaddleSeg's <c>Config(path).model</c>; for the datasets
    /// and training settings of the same file use <see cref="TrainingConfig.Load"/>.
    /// </summary>
    /// <param name="path">The config file.</param>
    /// <exception cref="ConfigException">The file cannot be read or a value is wrong; the message names the file, line and key path.</exception>
    public static Segmenter FromConfig(string path) => TrainingConfig.Load(path).CreateSegmenter();
}
