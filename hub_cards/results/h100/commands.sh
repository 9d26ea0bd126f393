#!/usr/bin/env bash
# The commands behind hub_cards/results/**/*_h100*: one lent H100 session (30 min of device time), run as
#   bash hub_cards/results/h100/commands.sh start       # wheels, baseline, its benchmark, causes, emocause x4
#   bash hub_cards/results/h100/commands.sh knowledge   # KEMP and a COMET-style seq2seq (after the baseline)
#   bash hub_cards/results/h100/commands.sh finish      # mechanism classifiers, KEMP benchmark, collect
# Jobs run detached (setsid) so they outlive a call; each call prints their progress. Inputs travel in
# device_data/ (ED CSVs; ConceptNet 4, NRC-VAD, ATOMIC; the cause detector and all-MiniLM-L6-v2 in fp16, cast
# back to fp32 here) and .whl/ (datasets, evaluate, nltk and their pure-Python needs).
# DRY=1 runs the same pipeline on the packaged sample for a few steps (a check on a CPU before the lease).
set -u
cd "$(dirname "$0")/../../.."
export EMPATHETIC_MODELS_COMMIT=${EMPATHETIC_MODELS_COMMIT:-$(cat device_data/ed/COMMIT 2>/dev/null || echo unknown)}
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
R=${RUNS:-/tmp/runs}; M=${MODELS:-/tmp/models}; mkdir -p "$R" "$M"
if [ -z "${DRY:-}" ]; then
  [ -d /tmp/site/datasets ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD
  ED=device_data/ed; SHORT=(); TEST=(); P=(--bf16 true)
else
  ED=sample; SHORT=(--max_steps 4 --eval_steps 2 --save_steps 2); TEST=(--max_test_samples 8); P=(--use_cpu true)
fi
KB=device_data/kb
PY=python3

fp32() { # fp16 transport copy -> fp32 folder
  [ -f "$2/model.safetensors" ] || $PY - "$1" "$2" <<'EOF'
import sys, torch
from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification, AutoTokenizer
src, dst = sys.argv[1:]
cls = AutoModelForSequenceClassification if AutoConfig.from_pretrained(src).architectures[0].endswith("SequenceClassification") else AutoModel
cls.from_pretrained(src, dtype=torch.float32).save_pretrained(dst)
AutoTokenizer.from_pretrained(src).save_pretrained(dst)
EOF
}

progress() { # the last line of each job's log, until $1 seconds have passed or $R/$2.done exists
  local until=$(( $(date +%s) + $1 ))
  while :; do
    echo "== $(date +%T)"; for f in "$R"/*.log; do [ -f "$f" ] && printf '%s: %s\n' "$(basename "$f")" "$(tail -c 300 "$f" | tr '\r' '\n' | grep -v '^\s*$' | tail -1)"; done
    ls "$R"/*.done 2>/dev/null | xargs -n1 basename 2>/dev/null | tr '\n' ' '; echo
    [ "$(date +%s)" -ge "$until" ] && break
    [ -n "${2:-}" ] && [ -f "$R/$2.done" ] && break
    sleep 20
  done
}

collect() { # results (not weights) into $OUT
  [ -n "${OUT:-}" ] || return 0
  (cd "$R" && find . \( -name '*.json' -o -name '*.jsonl' -o -name '*.md' -o -name '*.log' \) -not -path '*/checkpoint-*' \
     -not -name 'tokenizer*.json' -not -name 'config.json' -not -name 'generation_config.json' -not -path '*/dataset/*' \
     | tar czf "$OUT/results.tgz" -T -)
  ls -la "$OUT"
}

baseline_train() {
  $PY -m training.train empathetic_transformer --data_source $ED --output_dir $R/multi_trs_h100 "${P[@]}" \
    --per_device_train_batch_size 64 --learning_rate 0.001 --warmup_steps 1000 --eval_steps 315 --save_steps 315 \
    --num_train_epochs 15 --dataloader_num_workers 2 "${SHORT[@]}" "${TEST[@]}"
}

baseline_bench() {
  $PY -m training.benchmark --model $R/multi_trs_h100 --data_source $ED --reference_examples 100 \
    --train_batch_size 64 --train_variants fp32,bf16,bf16+grouped,bf16+grouped+compile --generation_variants fp32,bf16 \
    --generation_batch_size 512 --output_dir $R/speed --name multi_trs_h100 ${DRY:+--max_examples 8 --reference_examples 2 --train_steps 2 --train_variants fp32,bf16}
}

emocause() { # $1 gating, $2 seed
  $PY -m training.train emocause --data_source $ED --cause_detector $M/detector --knowledge_cache_dir $R/causes_cache \
    --model_config "{\"gating\": \"$1\"}" --seed "$2" --output_dir $R/emocause_$1_s$2 "${P[@]}" \
    --num_train_epochs 10 --early_stopping_patience 3 --dataloader_num_workers 1 "${SHORT[@]}" "${TEST[@]}"
}

case "${1:-}" in
  start)
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null
    $PY -c "import torch, transformers, datasets, pyarrow, huggingface_hub as h; print(torch.__version__, transformers.__version__, datasets.__version__, pyarrow.__version__, h.__version__, torch.cuda.is_available())" || exit 1
    fp32 device_data/detector $M/detector
    setsid nohup bash -c "
      set -x
      $(declare -f baseline_train baseline_bench emocause); $(declare -p R M ED SHORT TEST P PY); export PYTHONPATH=\${PYTHONPATH:-}
      baseline_train > $R/multi_trs_h100.log 2>&1; touch $R/baseline.done
      baseline_bench > $R/bench_multi_trs.log 2>&1; touch $R/bench_multi_trs.done
      $PY -m empathetic_models.cli annotate-causes --detector $M/detector --data $ED --split-style full --max-length 256 \
        --batch-size 256 --cache-dir $R/causes_cache --output-dir $R/ed_causes_full_h100 > $R/ed_causes.log 2>&1
      for g in soft hard; do for s in 1 2; do emocause \$g \$s > $R/emocause_\${g}_s\$s.log 2>&1 & done; done; wait
      touch $R/emocause.done" > $R/driver_start.txt 2>&1 < /dev/null &
    progress "${2:-45}" emocause;;
  knowledge)
    setsid nohup bash -c "
      set -x; $(declare -p R M ED KB SHORT TEST P PY); export PYTHONPATH=\${PYTHONPATH:-}
      while [ ! -f $R/bench_multi_trs.done ]; do sleep 5; done
      $PY -m training.train kemp --data_source $ED --conceptnet $KB/conceptnet4_en.tsv.gz --vad_lexicon $KB/NRC-VAD-Lexicon.txt \
        --output_dir $R/kemp_h100 \${P[@]} --per_device_train_batch_size 64 --learning_rate 0.001 --warmup_steps 1000 \
        --eval_steps 315 --save_steps 315 --num_train_epochs 15 --dataloader_num_workers 2 \${SHORT[@]} \${TEST[@]} > $R/kemp_h100.log 2>&1 &
      $PY -m training.train_comet --atomic $KB/atomic2019_valid.tsv.gz $KB/atomic2019_test.tsv.gz \
        --queries $KB/atomic2020_system_eval_test.tsv --scratch_config '{\"model_type\": \"bart\", \"d_model\": 512, \"encoder_layers\": 6, \"decoder_layers\": 6, \"encoder_attention_heads\": 8, \"decoder_attention_heads\": 8, \"encoder_ffn_dim\": 2048, \"decoder_ffn_dim\": 2048}' \
        --tokenizer_name $M/detector --output_dir $R/comet_bart_scratch_h100 \${P[@]} --per_device_train_batch_size 128 \
        --per_device_eval_batch_size 256 --num_train_epochs 5 --learning_rate 5e-4 --warmup_steps 500 --eval_strategy epoch --save_strategy epoch --save_total_limit 1 \
        --report_to none --dataloader_num_workers 2 ${DRY:+--max_steps 2 --max_queries 8} > $R/comet_h100.log 2>&1 &
      wait; touch $R/knowledge.done" > $R/driver_knowledge.txt 2>&1 < /dev/null &
    progress "${2:-520}" knowledge;;
  finish)
    fp32 device_data/minilm $M/minilm
    for m in er ip ex; do
      $PY -m training.train_mechanism_classifier --mechanism $m --encoder $M/minilm --epitome_dir device_data/epitome \
        --output_dir $R/cm_$m --num_train_epochs 3 --learning_rate 5e-5 --per_device_train_batch_size 32 "${P[@]}" \
        --report_to none ${DRY:+--max_steps 2} > $R/cm_$m.log 2>&1 &
    done
    wait
    progress 0
    deadline=$(( $(date +%s) + ${2:-420} ))  # then collect what is done; `collect` later gathers the rest
    while { [ ! -f $R/knowledge.done ] || [ ! -f $R/emocause.done ]; } && [ "$(date +%s)" -lt $deadline ]; do sleep 10; progress 0 | tail -3; done
    [ -f $R/knowledge.done ] && $PY -m training.benchmark --model $R/kemp_h100 --data_source $ED --reference_examples 100 --train_batch_size 64 \
      --train_variants fp32,bf16 --generation_variants bf16 --generation_batch_size 512 --output_dir $R/speed --name kemp_h100 \
      ${DRY:+--max_examples 8 --reference_examples 2 --train_steps 2} > $R/bench_kemp.log 2>&1
    tail -5 $R/bench_kemp.log; progress 0; collect;;
  collect) progress 0; collect;;
  *) echo "usage: $0 start|knowledge|finish|collect [seconds to show progress]"; exit 2;;
esac
