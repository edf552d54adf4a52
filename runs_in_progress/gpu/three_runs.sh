# Three runs side by side on one GPU with Keras on JAX (no TensorFlow there), from the
# shipped masters, each tuning the network: on Composition VII, Starry Night and Great Wave
# with Hokusai's style term a sliced Wasserstein distance on Johnson's four layers at 1,
# on his wave without the plain sky (gwcrop/), Kandinsky's on his painting's line-rich
# centre (cviicrop/)
# (cvii_sn_gw: the shipped masters' command, cviicrop/, with a GPU's batch; merge it
# into masters with training.merge_runs), on all nine paintings with Kandinsky's loss on
# Johnson's layers (all_cvii), and that with Hokusai's term as in the first (all_gwsw).
# Van Gogh's and Kandinsky's losses sit on Johnson's four layers at 60 each, as in the
# shipped masters' command (runs_in_progress/README.md, sn_jl/); those layers join the
# shipped recipe's at weight 0, so that each painting keeps its own.
# Each run's directory comes back as OUTDIR/RUN.tgz, its log's end as OUTDIR/RUN.log.
# usage, from the repository root after prepare.sh (on the device: carry .devcarry):
#   bash runs_in_progress/gpu/three_runs.sh MINUTES STEPS OUTDIR
set -u
MIN=$1; STEPS=$2; O=$3
if ! python3 -c "import keras" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .devcarry/whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=${PYTHONPATH:-}:$PWD KERAS_BACKEND=jax XLA_PYTHON_CLIENT_MEM_FRACTION=0.3 PYTHONUNBUFFERED=1
nvidia-smi -L 2>/dev/null
python3 -c "import jax, keras; print(jax.devices(), keras.__version__)"
mkdir -p /tmp/dev
C="--preset magenta --identity --start-from styles/masters --style .devcarry/paintings --content-dir .devcarry/photos --steps $STEPS --minutes $MIN --batch-size 8 --style-size 256 --colour-style-weight 1000 --style-layers block1_conv2:0.25,block2_conv2:1,block3_conv3:0,block3_conv4:1,block4_conv3:0,block4_conv4:300 --content-layer block3_conv3 --content-weight 20 --style-weight 8 --half-size-style-weight 0.1 --tv-weight 3000 --checkpoint-every 250 --preview-every 1000000 --preview-image .devcarry/chicago.jpg"
JL=block1_conv2:60,block2_conv2:60,block3_conv3:60,block3_conv4:0,block4_conv3:60,block4_conv4:0
T="--tune-network --painting-sizes composition_vii=512 --painting-style-layers starry_night=$JL --painting-style-layers great_wave=block4_conv4:1000 --learning-rate 3e-4 --warmup-steps 300"
K="--painting-style-layers composition_vii=$JL --painting-crops composition_vii=120:100:660:620 --painting-sizes composition_vii=344 --painting-style-weights composition_vii=1"
SW="--painting-crops great_wave=0:0:600:514 --painting-sizes great_wave=166 --painting-style-distances great_wave=sliced-wasserstein --painting-style-weights great_wave=3e7 --painting-style-layers great_wave=block1_conv2:1,block2_conv2:1,block3_conv3:1,block3_conv4:0,block4_conv3:1,block4_conv4:0"
mkdir -p /tmp/dev/three
for p in composition_vii great_wave starry_night; do ln -sf $PWD/.devcarry/paintings/$p.jpg /tmp/dev/three/; done
python3 -m training $C --style /tmp/dev/three --out /tmp/dev/cvii_sn_gw $T $K $SW > /tmp/dev/cvii_sn_gw.log 2>&1 &
python3 -m training $C --out /tmp/dev/all_gwsw $T $K $SW > /tmp/dev/all_gwsw.log 2>&1 &
python3 -m training $C --out /tmp/dev/all_cvii $T $K > /tmp/dev/all_cvii.log 2>&1 &
sleep 5; nvidia-smi --query-gpu=memory.used,utilization.gpu --format=csv 2>/dev/null
wait
for r in cvii_sn_gw all_gwsw all_cvii; do tail -c 20000 /tmp/dev/$r.log > $O/$r.log; tail -c 400 $O/$r.log; echo; tar czf $O/$r.tgz -C /tmp/dev $r; done
ls -la $O
