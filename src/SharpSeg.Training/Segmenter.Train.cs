using SharpSeg.Data.Datasets;
using SharpSeg.Nn.Optim;

namespace SharpSeg.Training;

public sealed partial class Segmenter
{
    /// <summary>
    /// Trains the model. Equivalent to PaddleX 1.x <c>train(num_epochs, train_dataset, train_batch_size, eval_dataset, …)</c>:
    /// by default momentum-0.9 SGD (weight decay off for norms and biases) with a polynomial learning-rate decay stepped
    /// every iteration; evaluation every <paramref name="saveIntervalEpochs"/> epochs when <paramref name="evalDataset"/>
    /// is given; a checkpoint <c>saveDir/epoch_N</c> at the same interval (the last
    /// <see cref="TrainingOptions.KeepLastCheckpoints"/> kept), <c>saveDir/best_model</c> by
    /// <see cref="TrainingOptions.BestMetric"/>, JSON-lines metrics in <c>saveDir/metrics.jsonl</c>, and TensorBoard
    /// event files in <c>saveDir/vdl_log</c> when <paramref name="useVdl"/>.
    /// </summary>
    /// <param name="numEpochs">Epochs of the whole run (a resumed run continues up to this).</param>
    /// <param name="trainDataset">Training samples; its transforms must give equal-size samples within a batch.</param>
    /// <param name="trainBatchSize">Images per step.</param>
    /// <param name="evalDataset">Evaluation samples, or null for no evaluation.</param>
    /// <param name="evalBatchSize">Images per evaluation batch.</param>
    /// <param name="saveIntervalEpochs">Epochs between evaluations and checkpoints (the last epoch always gets both).</param>
    /// <param name="logIntervalSteps">Steps between lines of <c>metrics.jsonl</c> and TensorBoard scalars.</param>
    /// <param name="saveDir">Folder of checkpoints and logs.</param>
    /// <param name="pretrainWeights">
    /// A safetensors file loaded non-strictly (a head of another class count is left as initialised), or a named set
    /// such as <c>IMAGENET</c> resolved to <c>&lt;weights folder&gt;/&lt;backbone&gt;_IMAGENET.safetensors</c> where the weights folder is
    /// <c>$SHARPSEG_WEIGHTS</c> or <c>~/.sharpseg/weights</c>; null = none. Ignored when resuming.
    /// </param>
    /// <param name="optimizer">The optimizer over <see cref="Model"/>'s parameters; null = the default SGD. A given optimizer gets the poly schedule attached unless it already has one.</param>
    /// <param name="learningRate">Initial learning rate of the default schedule.</param>
    /// <param name="lrDecayPower">Exponent of the polynomial decay.</param>
    /// <param name="useVdl">Write TensorBoard event files (PaddleX's VisualDL switch).</param>
    /// <param name="earlyStop">Stop once <see cref="TrainingOptions.BestMetric"/> has not improved for <paramref name="earlyStopPatience"/> evaluations.</param>
    /// <param name="earlyStopPatience">Evaluations without improvement that stop training.</param>
    /// <param name="resumeCheckpoint">A checkpoint folder of this run (<c>saveDir/epoch_N</c>) to continue from, bit for bit.</param>
    /// <param name="options">Seeds, weight decay, warmup, clipping, rotation, best metric and loss; null = defaults.</param>
    /// <param name="progress">Receives a report after every step, evaluation and checkpoint.</param>
    /// <returns>The loss curve, the evaluations and the checkpoint folders.</returns>
    /// <exception cref="ArgumentException">An argument is out of range or the datasets do not match the model.</exception>
    /// <exception cref="Checkpoints.CheckpointException">The resume checkpoint is invalid or belongs to another model or class count.</exception>
    public TrainingResult Train(int numEpochs, SegDataset trainDataset, int trainBatchSize = 2, SegDataset? evalDataset = null,
        int evalBatchSize = 1, int saveIntervalEpochs = 1, int logIntervalSteps = 2, string saveDir = "output",
        string? pretrainWeights = null, Optimizer? optimizer = null, double learningRate = 0.01, double lrDecayPower = 0.9,
        bool useVdl = false, bool earlyStop = false, int earlyStopPatience = 5, string? resumeCheckpoint = null,
        TrainingOptions? options = null, IProgress<TrainingProgress>? progress = null) =>
        throw new NotImplementedException();
}
