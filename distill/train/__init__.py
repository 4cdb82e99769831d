"""Fine-tuning a transformers student between self-improvement iterations (TRL's SFT and DPO trainers, LoRA
through peft as an option). Not a teacher call: the recipe calls `train.checkpoint.train_checkpoint` and then
samples from the folder it writes. torch, transformers, trl and peft are imported only when training runs."""
