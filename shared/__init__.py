"""The book's one shared library: every class and function the chapters build, defined once.

Usage:
    from shared import create_dataloader_v1, get_tokenizer, MultiHeadAttention, GPTModel

Each module's docstring names the chapter that introduces it; `shared/README.md` lists them all.
"""

# Chapter 2: text data -------------------------------------------------------------------------
from shared.device import get_device, set_seed
from shared.simple_tokenizers import SimpleTokenizerV1, SimpleTokenizerV2, CharTokenizer, build_vocab
from shared.bpe import BPETokenizer, GPT2_SPLIT_PATTERN
from shared.tokenizer import get_tokenizer
from shared.data import GPTDatasetV1, create_dataloader_v1, load_corpus

# Chapter 3: attention -------------------------------------------------------------------------
from shared.attention import (SelfAttention_v1, SelfAttention_v2, CausalAttention, MultiHeadAttention,
                              MultiHeadAttentionWrapper)

# Chapter 4: the GPT model ---------------------------------------------------------------------
from shared.config import (GPT_CONFIG_124M, GPT_CONFIG_355M, GPT_CONFIG_774M, GPT_CONFIG_1558M, GPT_CONFIG_SMALL,
                           GPT_CONFIG_TINY, MODEL_CONFIGS, get_config, validate_config)
from shared.layers import LayerNorm, GELU, FeedForward
from shared.kv_cache import KVCache
from shared.model import TransformerBlock, GPTModel
from shared.generation import generate_text_simple
from shared.weights import load_hf_gpt2_weights

# Chapter 5: pretraining ------------------------------------------------------------------------
from shared.training import (text_to_token_ids, token_ids_to_text, calc_loss_batch, calc_loss_loader, evaluate_model,
                             generate_and_print_sample, train_model_simple, plot_losses, perplexity,
                             check_tokenizer_fits)
from shared.decoding import generate, generate_stream, generate_batch, stream_text, filter_top_k, filter_top_p
from shared.checkpoint import (CheckpointError, save_checkpoint, load_checkpoint, load_model_from_checkpoint)
from shared.trainer import TrainConfig, TrainResult, TrainingDiverged, train_model, lr_at_step
from shared.gpt2_weights import download_gpt2, load_gpt2

# Chapter 6: fine-tuning for classification -----------------------------------------------------
from shared.spam_data import (LABEL_IDS, SpamDataset, create_balanced_dataset, download_and_unzip_spam_data,
                              load_sms_data, random_split, write_split_csvs)
from shared.classifier import (calc_accuracy_loader, classify_review, count_parameters, freeze_for_classification,
                               load_classifier, save_classifier,
                               make_classifier, plot_values, replace_output_head, train_classifier_simple)
from shared.lora import LinearWithLoRA, LoRALayer, merge_lora, replace_linear_with_lora

# Chapter 7: fine-tuning to follow instructions ------------------------------------------------
from shared.instruction_data import (ALPACA_PREAMBLE, INSTRUCT_EMBEDDED, PERSONA_INSTRUCTIONS, RESPONSE_MARKERS,
                                     InstructionDataset, custom_collate_fn, extract_response, format_input,
                                     format_response, load_instruction_data, load_instruction_model,
                                     split_instruction_data)
from shared.instruction_eval import RULE_BASED_FAMILIES, evaluate_responses, exact_match, rouge_l, token_f1
from shared.instruction_finetune import (INSTRUCT_RECIPE, finetune_embedded_model, generate_responses,
                                         save_responses_json)
from shared.ollama import (OllamaError, OllamaNotRunning, generate_model_scores, ollama_running, parse_score,
                           query_model)
