using SharpSeg.Data.Datasets;
using SharpSeg.Models;
using SharpSeg.Nn;
using SharpSeg.Nn.Interop;
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
    /// <para>
    /// Everything random is a function of (seed, epoch, sample index): the loader's order and augmentations, and the dropout
    /// masks (<see cref="Engine.Random"/> of the calling thread is reseeded at the start of every epoch). A run resumed from an
    /// epoch checkpoint therefore repeats the uninterrupted run bit for bit at the same thread count, and keeps the
    /// checkpoint's seed. The model is left in training mode.
    /// </para>
    /// <para>
    /// Before the first step every image and label file of the datasets is checked from its header (it opens, its data is all
    /// there, sizes agree), and the save folder is locked for the whole run (<c>train.&lt;pid&gt;.lock</c>): a second run on
    /// it is refused. A NaN or infinite loss or gradient stops the run at that step, before it changes the weights, and
    /// non-finite weights are never saved. A sample that fails to load inside an epoch, or an evaluation that fails, first
    /// saves the work done (<c>epoch_N_step_K</c> or <c>epoch_N</c>) and then stops the run, naming that checkpoint; an epoch
    /// checkpoint that cannot be written (disk full, no permission) stops it naming the last one that was. Cancelling
    /// <paramref name="cancellationToken"/> (Ctrl+C in <c>sharpseg train</c>) saves the steps done since the last checkpoint
    /// the same way, unless the weights are not finite, and throws a <see cref="TrainingInterruptedException"/> naming it; a
    /// cancellation during an epoch's last step lets that epoch's evaluation and checkpoint run first. The Detector's run
    /// behaves the same in every one of these cases (both use one implementation).
    /// </para>
    /// <para>
    /// Data-parallel training (<see cref="TrainingOptions.Distributed"/>; PyTorch's <c>DistributedDataParallel</c> with
    /// <c>DistributedSampler</c>, PaddleSeg under <c>paddle.distributed.launch</c>): every rank calls this with the same
    /// arguments and model. <paramref name="trainBatchSize"/> is per rank (PaddleSeg's per-card <c>batch_size</c>), so a step
    /// trains on trainBatchSize × N images. Each epoch's shuffled order is cut to a multiple of N and rank r takes positions
    /// r, r + N, … (<see cref="Data.Loading.DistributedSampler"/> with <c>drop_last</c>): step k of the N ranks together sees
    /// exactly the images of step k of one process with batch N × trainBatchSize, each augmented as there, and an epoch has
    /// floor(count / (N × trainBatchSize)) steps; the learning-rate schedule counts these global steps. Rank 0's weights and
    /// buffers are broadcast before the first step (after pretrained weights or a resume are loaded); after each backward the
    /// gradients are averaged over the ranks (bucketed allreduce started during backward); BatchNorm buffers follow rank 0's
    /// (DDP's <c>broadcast_buffers</c>), or with <see cref="DistributedOptions.SyncBatchNorm"/> are computed over all ranks'
    /// batches. Clipping and the NaN checks see the averaged gradients; the logged loss is the mean over ranks, and a
    /// non-finite mean stops every rank at the same step. Evaluation is sharded and the confusion matrices summed, so its
    /// metrics equal a single process's exactly. Only rank 0 touches <paramref name="saveDir"/> (lock, checkpoints,
    /// <c>metrics.jsonl</c>, TensorBoard, report). Checkpoints hold no per-rank state and record the images per step over all
    /// ranks: an epoch checkpoint resumes with any rank count, one saved inside an epoch with any rank count that gives the
    /// same images per step; the resume checkpoint and pretrained file must be readable on every rank. A rank that throws
    /// aborts the group (<see cref="Nn.Distributed.IProcessGroup.Abort"/>) with a message naming it, the epoch and the step, so
    /// no rank hangs. As in PyTorch, each rank's loss is the mean over its own batch, so with ignored pixels or per-rank
    /// BatchNorm statistics the run is close to, not equal to, one process with the whole batch; dropout draws one stream per
    /// rank (rank 0's is the single-process one).
    /// </para>
    /// </summary>
    /// <param name="numEpochs">Epochs of the whole run (a resumed run continues up to this).</param>
    /// <param name="trainDataset">Training samples; its transforms must give equal-size samples within a batch.</param>
    /// <param name="trainBatchSize">Images per step (per rank in a data-parallel run).</param>
    /// <param name="evalDataset">Evaluation samples, or null for no evaluation.</param>
    /// <param name="evalBatchSize">Images per evaluation batch.</param>
    /// <param name="saveIntervalEpochs">Epochs between evaluations and checkpoints (the last epoch always gets both).</param>
    /// <param name="logIntervalSteps">Steps between lines of <c>metrics.jsonl</c> and TensorBoard scalars.</param>
    /// <param name="saveDir">Folder of checkpoints and logs.</param>
    /// <param name="pretrainWeights">
    /// A weight file (safetensors, PyTorch <c>.pth</c>/<c>.pt</c> or Paddle <c>.pdparams</c>) loaded non-strictly (a head of another class count is left as initialised), or a named set
    /// such as <c>IMAGENET</c> resolved to <c>&lt;weights folder&gt;/&lt;backbone&gt;_IMAGENET.safetensors</c> where the weights folder is
    /// <c>$SHARPSEG_WEIGHTS</c> or <c>~/.sharpseg/weights</c>; null = none. Ignored when resuming.
    /// </param>
    /// <param name="optimizer">The optimizer over <see cref="Model"/>'s parameters; null = the default SGD. A given optimizer gets the poly schedule attached unless it already has one.</param>
    /// <param name="learningRate">Initial learning rate of the default schedule.</param>
    /// <param name="lrDecayPower">Exponent of the polynomial decay.</param>
    /// <param name="useVdl">Write TensorBoard event files (PaddleX's VisualDL switch).</param>
    /// <param name="earlyStop">
    /// Stop once <see cref="TrainingOptions.BestMetric"/> has not improved for <paramref name="earlyStopPatience"/> evaluations.
    /// As in PaddleX, an evaluation resets the patience only when it beats the best value by more than 1e-4 (PaddleX's
    /// <c>thresh</c>), while <c>best_model</c> follows any improvement, so a run may stop right after a marginally better
    /// evaluation became <c>best_model</c>.
    /// </param>
    /// <param name="earlyStopPatience">Evaluations without improvement that stop training.</param>
    /// <param name="resumeCheckpoint">
    /// A checkpoint folder of this run (<c>saveDir/epoch_N</c>) to continue from: bit for bit when the other arguments are
    /// unchanged; with more epochs, another batch size or learning rate, PaddleX-style (the default schedule is rebuilt for
    /// the new plan and continues at the saved step). What the interrupted run logged after the checkpoint is dropped
    /// from <c>metrics.jsonl</c> and hidden in TensorBoard. A checkpoint saved inside an epoch (<c>saveDir/epoch_N_step_K</c>)
    /// continues that epoch after its K steps, with the same batch size (bit for bit when the model draws no random numbers,
    /// e.g. has no dropout). When resuming in the checkpoint's own save folder, a <c>best_model</c> that is missing or is not
    /// the recorded best epoch's (a run stopped between the two writes) is restored from that epoch's checkpoint first.
    /// </param>
    /// <param name="options">Seeds, weight decay, warmup, clipping, rotation, best metric and loss; null = defaults.</param>
    /// <param name="progress">Receives a report after every step, evaluation and checkpoint, on the training thread.</param>
    /// <param name="cancellationToken">Checked before every step; cancelling saves the work done and throws <see cref="TrainingInterruptedException"/> (an <see cref="OperationCanceledException"/>) naming the checkpoint to resume from.</param>
    /// <returns>The loss curve, the evaluations and the checkpoint folders.</returns>
    /// <exception cref="ArgumentException">
    /// An argument is out of range, early stopping has no evaluation set, the datasets do not match the model, the save
    /// folder is a file, a fresh run's save folder holds an earlier run's checkpoints and
    /// <see cref="TrainingOptions.OverwriteSaveDir"/> is not set, or a checkpoint saved inside an epoch is resumed with
    /// another batch size.
    /// </exception>
    /// <exception cref="FileNotFoundException">The pretrained weights are not on this machine (the message says where to put a named set).</exception>
    /// <exception cref="Checkpoints.CheckpointException">The resume checkpoint is invalid or belongs to another model or class count.</exception>
    /// <exception cref="InvalidDataException">Image or label files fail the check before the first step; the message lists them by list file and line.</exception>
    /// <exception cref="Checkpoints.SaveFolderInUseException">Another live run holds the save folder; the message names its process id.</exception>
    /// <exception cref="NonFiniteLossException">The loss, a gradient or a weight became NaN or infinite; the message names the epoch and step.</exception>
    /// <exception cref="TrainingFailedException">A sample failed to load inside an epoch, or an evaluation failed (the work done was saved first), or a checkpoint could not be written; the message names the checkpoint to resume from.</exception>
    /// <exception cref="TrainingInterruptedException"><paramref name="cancellationToken"/> was cancelled; the message names the checkpoint to resume from.</exception>
    public TrainingResult Train(int numEpochs, SegDataset trainDataset, int trainBatchSize = 2, SegDataset? evalDataset = null,
        int evalBatchSize = 1, int saveIntervalEpochs = 1, int logIntervalSteps = 2, string saveDir = "output",
        string? pretrainWeights = null, Optimizer? optimizer = null, double learningRate = 0.01, double lrDecayPower = 0.9,
        bool useVdl = false, bool earlyStop = false, int earlyStopPatience = 5, string? resumeCheckpoint = null,
        TrainingOptions? options = null, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        options ??= new TrainingOptions();
        var run = new TrainingRun(this, new TrainingArguments(numEpochs, trainDataset, trainBatchSize, evalDataset, evalBatchSize,
            saveIntervalEpochs, logIntervalSteps, saveDir, pretrainWeights, optimizer, learningRate, lrDecayPower, useVdl, earlyStop,
            earlyStopPatience, resumeCheckpoint, options, progress, cancellationToken));
        int threads = Engine.Threads;
        if (options.ThreadCount > 0) Engine.Threads = options.ThreadCount;
        try
        {
            return run.Execute();
        }
        finally
        {
            Engine.Threads = threads;
        }
    }

    /// <summary>
    /// The weight file <paramref name="pretrainWeights"/> names (safetensors, PyTorch <c>.pth</c>/<c>.pt</c> or Paddle
    /// <c>.pdparams</c>, read by <see cref="WeightFile"/>): an existing path as is, or for a named set such as
    /// <c>IMAGENET</c> (a name with no folder and no extension) the file <c>&lt;backbone&gt;_&lt;SET&gt;.safetensors</c> (or
    /// <c>.pth</c>, <c>.pt</c>, <c>.pdparams</c>) in <c>$SHARPSEG_WEIGHTS</c>, else <c>~/.sharpseg/weights</c>. Nothing is ever downloaded (PaddleX 1.x downloads named sets).
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist; for a named set the message says where to put it.</exception>
    public string ResolvePretrainedWeights(string pretrainWeights)
    {
        ArgumentException.ThrowIfNullOrEmpty(pretrainWeights);
        if (File.Exists(pretrainWeights)) return Path.GetFullPath(pretrainWeights);
        bool namedSet = pretrainWeights.IndexOfAny(['/', '\\', '.']) < 0;
        if (!namedSet)
            throw new FileNotFoundException($"Pretrained weights file {Path.GetFullPath(pretrainWeights)} does not exist.", pretrainWeights);
        string owner = (Model.Options as BackboneModelOptions)?.Backbone ?? ModelName;
        string setName = pretrainWeights.ToUpperInvariant();
        string folder = PretrainedWeightsFolder();
        string file = Path.Combine(folder, $"{owner}_{setName}.safetensors");
        foreach (string extension in NamedSetExtensions)
            if (Path.ChangeExtension(file, extension) is var candidate && File.Exists(candidate)) return candidate;
        throw new FileNotFoundException(
            $"Pretrained weights '{pretrainWeights}' for '{owner}' are not on this machine: SharpSeg never downloads weights. " +
            $"Put the weight file at {file} (or with the extension .pth, .pt or .pdparams as downloaded; the weights folder is " +
            $"${WeightsFolderVariable} when set, else ~/.sharpseg/weights), " +
            "or pass the path of a weight file (.safetensors, .pth/.pt or .pdparams).", file);
    }

    /// <summary>The extensions a named set's file may have, in the order they are looked for.</summary>
    private static readonly string[] NamedSetExtensions = [".safetensors", ".pth", ".pt", ".pdparams"];

    /// <summary>The environment variable naming the local weights folder.</summary>
    public const string WeightsFolderVariable = "SHARPSEG_WEIGHTS";

    /// <summary>The local folder of named pretrained weight sets: <c>$SHARPSEG_WEIGHTS</c>, else <c>~/.sharpseg/weights</c>.</summary>
    public static string PretrainedWeightsFolder() =>
        Environment.GetEnvironmentVariable(WeightsFolderVariable) is { Length: > 0 } folder
            ? Path.GetFullPath(folder)
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".sharpseg", "weights");

    /// <summary>
    /// Loads pretrained weights from any format <see cref="WeightFile"/> reads. A file of the backbone's weights alone (none of its keys is one of the model's) goes to the
    /// backbone through its family's loader when it has one (<see cref="IPretrainedBackbone.LoadPretrained"/>: strict,
    /// foreign names recognised, the reference classifier left out, the first convolution adapted to the input channels);
    /// otherwise the file loads non-strictly: keys the model lacks are left out, missing keys keep their initial values,
    /// and a tensor whose shape differs is skipped only for the class head (leading size = class count); backbone-only keys
    /// without <c>backbone.</c> are prefixed with it, and the file is renamed by <see cref="KeyMap.PaddleSeg"/>
    /// when that matches more of the model's keys (PaddleSeg's <c>_conv</c>/<c>_batch_norm</c> names).
    /// </summary>
    private LoadReport LoadPretrained(string path)
    {
        var tensors = WeightFile.Load(path);
        var own = Model.StateDict();
        bool backboneOnly = !tensors.Keys.Any(own.ContainsKey);
        if (backboneOnly && Model.Backbone is IPretrainedBackbone backbone)
            return backbone.LoadPretrained(path);
        IReadOnlyDictionary<string, Tensor> source = tensors;
        if (backboneOnly && tensors.Keys.Any(k => own.ContainsKey("backbone." + k)))
            source = tensors.ToDictionary(p => "backbone." + p.Key, p => p.Value);
        // A PaddleSeg model checkpoint (.pdparams, or converted without a key map) of a model whose keys are PaddleSeg's
        // in PyTorch's spelling (Fast-SCNN) matches once renamed; its plain convolutions match either way.
        if (KeyMap.PaddleSeg.Apply(tensors) is var renamed && renamed.Keys.Count(own.ContainsKey) > source.Keys.Count(own.ContainsKey))
            source = renamed;
        if (!source.Keys.Any(own.ContainsKey))
            throw new ArgumentException(
                $"Pretrained weights {path}: none of its {tensors.Count} tensors (e.g. '{tensors.Keys.FirstOrDefault()}') has a key of model '{ModelName}' " +
                $"(e.g. '{own.Keys.FirstOrDefault()}').", nameof(path));
        return Model.LoadStateDict(source, strict: false, allowShapeMismatch: key => own[key].Rank >= 1 && own[key].Shape[0] == Model.NumClasses);
    }
}
