"""One optimizer step of a group of K models, and its validation pass: the forward and backward passes over
the step's micro-batches, gradient clipping, and the stacked update with ended models held where they are."""

from __future__ import annotations

import torch


class GroupStep:
    """The step methods of GroupTrainer (engine/loop.py), which holds the state they read and write."""

    def _train_step(self, order: torch.Tensor | None, ranges: list[tuple[int, int]], lr: torch.Tensor):
        flat = self.model.flat
        flat.grad = None  # zero_grad: backward() accumulates into leaves
        total = ranges[-1][1] - ranges[0][0]  # micro-batches tile one contiguous stretch of the order
        loss_sum = correct = None
        one = self.K == 1  # `gdlab train`: plain 2-D tensors, no model axis on the graph
        weighted = self.loss.weight_shares([self.data.train_targets(order, a, b, self.seed_index, one)
                                            for a, b in ranges]) if self.loss.weight is not None else None
        # A diverged model's BatchNorm statistics stay as they were: in a group, or alone on an accelerator,
        # where the host learns of the divergence only at the next flush
        saved = self.model.save_buffers() if self.model.buffers and (self.K > 1 or self.sync_every > 1) else None
        for i, (a, b) in enumerate(ranges):
            x, y = self.data.train_batch(order, a, b, self.seed_index, one)
            out = self.model.forward(x, training=True)
            share = weighted[i] if weighted else None  # class weights: shares of the step's total weight
            graphed, losses = self.loss.for_backward_one(out, y, share) if one else self.loss.for_backward(out, y, share)
            share = (b - a) / total  # micro-batches weighted by size: k of them equal one large batch
            if share != 1 and not weighted:
                graphed, losses = graphed * share, losses * share
            self.loss.backward(graphed)
            loss_sum = losses if loss_sum is None else loss_sum + losses
            c = self.loss.correct(out.detach(), y)
            if c is not None:
                correct = c if correct is None else correct + c
        if saved is not None:
            self.model.restore_buffers(saved, self.divergence.alive)
        grad = flat.grad
        grad_norm = torch.linalg.vector_norm(grad, dim=1)
        if self.grad_clip is not None:  # the same coefficient as torch.nn.utils.clip_grad_norm_
            grad.mul_(torch.clamp(self.grad_clip / (grad_norm + 1e-6), max=1.0).unsqueeze(1))
        self.divergence.first_loss(loss_sum)
        if self.sync_every > 1:  # on CPU the host checks each loss anyway (see run)
            self.divergence.mask_on_device(loss_sum)
        return loss_sum, correct, grad_norm, total

    def _update(self, lr: torch.Tensor, must_mask: bool) -> None:
        # flat.data and flat.grad do not require grad, so nothing here is recorded (what optimizer.step relies on)
        flat = self.model.flat
        before = flat.detach().clone() if must_mask else None
        self.optimizer.step(flat.data, flat.grad, lr)
        if must_mask:  # a diverged model keeps the weights it diverged with; the others go on
            flat.data.copy_(torch.where(self.divergence.alive.unsqueeze(1), flat.data, before))

    @torch.no_grad()
    def evaluate(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        x, y = self.data.val_all()
        out = self.model.forward(x, training=False)
        return self.loss(out, y), self.loss.correct(out, y)
