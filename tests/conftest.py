"""Shared fixtures (a tiny random Qwen2.5-VL checkpoint, real video files written with PyAV) and the one place
that sorts the tests into tiers and decides what a skip means (docs/testing.md)."""
from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # steadier on the 2-core CI machine

import numpy as np
import pytest

from browser import browser, page  # noqa: F401  (fixtures: Debian's chromium through Playwright)

# ---- the tiers ----------------------------------------------------------------------------------------------
# `bash scripts/test.sh --fast` runs the tests with none of these markers; `bash scripts/test.sh` runs them all.
#   slow      trains a model, scores a probe world or a folder end to end, starts Ray, fuzzes a service: seconds
#             to minutes each on the 2-core machine. What they guard is guarded in the fast tier by a smaller
#             test of the same rule (the table in docs/testing.md).
#   browser   drives chromium (Playwright)
#   external  needs what the project's environment does not hold (Label Studio's own virtual environment)
# Keys are a test module, or `module::test` (every parametrisation of that test); a test also keeps the
# markers it declares itself, and a test that uses the `browser` or `page` fixture is a browser test.
SLOW, BROWSER, EXTERNAL = "slow", "browser", "external"
TIERS: dict[str, tuple] = {
    # whole modules: a trainer, a cluster, a subprocess per step, or a fuzzer in every test
    "test_labelstudio.py": (EXTERNAL, SLOW, pytest.mark.timeout(2400)),  # builds its own venv once per machine
    "test_annotate_browser.py": (BROWSER,),
    "test_ray_batch.py": (SLOW,),
    "test_ray_node_loss.py": (SLOW,),
    "test_demo.py": (SLOW,),
    "test_tiny_align.py": (SLOW,),
    "test_serve_fuzz.py": (SLOW,),
    "test_annotate_fuzz.py": (SLOW,),
    "test_install.py": (SLOW,),
    # training: runs of SFT / GRPO / vision pretraining (the collators, rewards and configs stay fast)
    "test_train_grpo.py::test_training_logprobs_see_the_video": (SLOW,),
    "test_train_grpo.py::test_grpo_steps_on_rewards_that_differ_and_logs_them": (SLOW,),
    "test_train_grpo.py::test_grpo_trains_and_evaluates_on_the_same_fixed_questions_before_the_first_step_and_after_the_last": (SLOW,),
    "test_train_grpo.py::test_cli_grpo_with_lora_trains_only_the_adapters_and_saves_them_merged": (SLOW,),
    "test_train_grpo.py::test_grpo_gradient_checkpointing_recomputes_layers_and_takes_the_same_steps": (SLOW,),
    "test_train_grpo.py::test_with_lora_the_reference_is_the_base_with_adapters_off_and_every_forward_sees_the_video": (SLOW,),
    "test_train_sft.py::test_sft_packed_and_per_question_both_lower_the_loss": (SLOW,),
    "test_train_sft.py::test_sft_moves_the_answers_toward_the_labels": (SLOW,),
    "test_train_sft.py::test_cli_sft_with_lora_merges_the_adapter": (SLOW,),
    "test_train_sft.py::test_full_sft_with_a_frozen_vision_tower_trains_the_language_model_only": (SLOW,),
    "test_train_sft.py::test_micro_batches_take_the_same_step_as_one_batch": (SLOW,),
    "test_train_sft.py::test_cli_sft_says_when_packing_falls_back_because_attention_is_not_sdpa": (SLOW,),
    "test_train_sft.py::test_packed_training_forward_gives_the_answerers_p_yes": (SLOW,),
    "test_train_sft.py::test_gradient_checkpointing_recomputes_every_layer_and_takes_the_same_step": (SLOW,),
    "test_train_precision.py::test_sft_at_lr_1e6_with_bf16_autocast_over_float32_weights_moves_nearly_every_weight": (SLOW,),
    "test_train_precision.py::test_the_loader_gives_float32_whatever_the_checkpoint_holds_and_refuses_bfloat16_master_weights": (SLOW,),
    "test_train_config.py::test_cli_grpo_reads_the_yaml_and_the_saved_config_repeats_the_run": (SLOW,),
    "test_train_config.py::test_train_sft_takes_a_config_object": (SLOW,),
    "test_train_config.py::test_cli_sft_reads_the_yaml_lets_explicit_flags_override_it_and_saves_the_config_it_used": (SLOW,),
    "test_annotate.py::test_sft_trains_on_exactly_the_agreed_answers_and_checked_reasons": (SLOW,),
    "test_score_to_people.py": (SLOW,),  # score a probe folder -> export --to instruct -> annotate -> bench, calibrate, sft
    "test_tiny_vision.py": (SLOW,),  # a probe world and a probe-shaped model per module
    "test_qwen_vocab.py::test_pruned_copy_tokenises_the_probe_world_exactly": (SLOW,),
    "test_qwen_vocab.py::test_pruned_copy_keeps_every_yes_no_token": (SLOW,),
    # whole commands and services end to end (their rules are guarded by smaller fast tests)
    "test_quickstart.py::test_the_readme_quick_start_runs_as_written": (SLOW,),
    "test_batch.py::test_kill_9_mid_batch_then_rerun_loses_and_duplicates_nothing": (SLOW,),
    "test_serve.py::test_the_serve_command_runs_and_stops_cleanly": (SLOW,),
    "test_rubric_cli.py::test_the_service_scores_with_its_rubric": (SLOW,),  # `fingereval serve` in a subprocess
    "test_rubric_cli.py::test_ray_workers_score_with_the_rubric_of_the_run": (SLOW,),
    "test_serve.py::test_memory_stays_flat_over_a_hundred_requests": (SLOW,),
    "test_serve.py::test_a_burst_of_concurrent_clients_is_served": (SLOW,),
    "test_serve.py::test_a_full_queue_is_503_with_retry_after": (SLOW,),
    "test_serve.py::test_score_answers_what_score_json_prints_by_path_and_by_bytes": (SLOW,),
    "test_inputs_and_batch_end.py::test_latin1_prompt_in_argv_is_read_as_cp1252_with_one_warning": (SLOW,),
    "test_inputs_and_batch_end.py::test_a_batch_with_a_failed_item_ends_with_a_summary_and_exit_1": (SLOW,),
    "test_inputs_and_batch_end.py::test_weights_that_cover_no_dimension_asked_are_an_error": (SLOW,),
    "test_inputs_and_batch_end.py::test_duplicate_question_ids_are_refused_naming_the_id_and_the_file": (SLOW,),
    "test_inputs_and_batch_end.py::test_latin1_bytes_in_a_manifest_line_and_a_questions_file": (SLOW,),
    "test_first_minutes.py::test_doctor_reaches_a_configured_llm_endpoint_or_says_it_does_not_answer": (SLOW,),
    "test_first_minutes.py::test_version_and_doctor": (SLOW,),
    "test_first_minutes.py::test_hub_failures_say_what_happened_and_what_to_do": (SLOW,),
    "test_folders_export.py::test_a_folder_with_a_csv_of_prompts_is_scored_and_resumes": (SLOW,),
    "test_folders_export.py::test_a_jsonl_prompts_file_and_prompts_from_names": (SLOW,),
    "test_model_bench.py::test_bench_qa_json_reports_accuracy_per_dimension": (SLOW,),
    "test_model_bench.py::test_bench_qa_reports_unreadable_videos_and_goes_on": (SLOW,),
    "test_model_bench.py::test_bench_levels_compares_entity_and_overall_level": (SLOW,),
    "test_model_bench.py::test_data_reasons_writes_a_reason_for_every_record": (SLOW,),
    "test_trust.py::test_calibrate_then_score_applies_and_records_it": (SLOW,),
    "test_trust.py::test_bench_stability_reports_every_variant": (SLOW,),
    "test_trust.py::test_bench_severity_tabulates_and_plots": (SLOW,),
    "test_answer_openai.py::test_ray_workers_answer_through_the_server": (SLOW,),
    "test_answer_openai.py::test_direct_p_yes_through_the_server_equals_the_in_process_backend_on_the_rigged_models": (SLOW,),
    "test_answer_openai.py::test_tiny_model_equals_in_process_with_the_whole_vocabulary_and_is_unreadable_in_the_top_20": (SLOW,),
    "test_answer_slot.py::test_reason_mode_reads_the_slot_the_model_wrote": (SLOW,),
    "test_answer_slot.py::test_slot_keeps_the_generated_ids": (SLOW,),
    "test_answer_slot.py::test_score_command_reports_the_exact_p_yes": (SLOW,),
    "test_answer_slot.py::test_a_forced_slot_reads_what_a_written_tag_would": (SLOW,),
    "test_cli.py::test_score_json_meets_the_contract": (SLOW,),
    "test_cli.py::test_questions_file_round_trip_and_scoring_with_it": (SLOW,),
    "test_cli.py::test_weights_file_sets_the_overall": (SLOW,),
    "test_video.py::test_score_command_keep_aspect_reaches_the_result": (SLOW,),
    "test_measure_cli.py::test_bench_pointwise_json_and_table": (SLOW,),
    "test_answer_openai.py::test_reason_mode_through_the_server_equals_the_in_process_backend_on_the_rigged_models": (SLOW,),
    "test_answer_openai.py::test_p_yes_is_the_same_whether_the_server_keeps_videos_by_uuid_refuses_uuids_or_gets_them_every_time": (SLOW,),
    "test_answer_openai.py::test_reason_mode_reads_the_same_through_a_server_that_refuses_uuids": (SLOW,),
    "test_answer_openai.py::test_cli_single_and_batch_and_python_api_read_the_exact_p_yes": (SLOW,),
    "test_answer_slot.py::test_direct_mode_reads_the_exact_marginal": (SLOW,),  # fast: test_answer_tokens, by hand
    "test_answer_slot.py::test_a_vocabulary_with_the_whole_tag_as_one_token": (SLOW,),
    "test_ask_local.py": (SLOW,),
    "test_jsonl_separators.py::test_separators_survive_score_resume_retry_report_and_export": (SLOW,),
    "test_score_caps.py::test_a_batch_records_an_item_over_a_cap_and_scores_the_others": (SLOW,),
    "test_score_caps.py::test_a_batch_over_max_videos_is_refused_before_it_runs": (SLOW,),
    "test_qwen_vocab.py::test_pruned_copy_differs_only_by_splitting_text_outside_its_world": (SLOW,),
    "test_decode_ahead.py::test_each_ray_worker_decodes_its_lane_ahead_and_the_results_are_those_in_one_process": (SLOW,),
    "test_decode_ahead.py::test_results_and_error_records_are_those_of_decoding_in_line_in_the_same_order": (SLOW,),
    "test_decode_ahead.py::test_the_service_worker_decodes_its_next_videos_ahead_with_the_same_results": (SLOW,),
    "test_decode_ahead.py::test_a_clip_prepared_on_a_decode_thread_gives_the_same_p_yes_without_running_the_processor_again": (SLOW,),
    "test_tiers.py::test_with_ci_true_a_skip_of_a_shipped_feature_fails_the_run_under_xdist_too": (SLOW,),
    "test_report.py": (SLOW,),  # every page is made from scored videos
    "test_probes_truth.py": (SLOW,),  # a probe world rendered and decoded per module
    "test_serve_attacks.py": (SLOW,),  # the service's token and path rules stay fast in test_serve.py
    "test_folders_export.py::test_export_csv_has_a_row_per_video_and_per_question": (SLOW,),
    "test_folders_export.py::test_export_parquet_reads_back_in_pyarrow": (SLOW,),
    "test_folders_export.py::test_export_md_means_and_bad_requests": (SLOW,),
    "test_annotate_security.py::test_cli_serve_ends_slow_headers_and_escapes_client_text_in_its_log": (SLOW,),
    "test_annotate.py::test_cli_serve_serves_the_app": (SLOW,),
    "test_serve.py::test_a_batch_records_its_bad_item_and_scores_the_others": (SLOW,),
    "test_train_sft.py::test_packed_rows_train_each_question_on_its_own_assistant_turn": (SLOW,),
    "test_train_sft.py::test_length_is_the_collated_width_less_the_video_tokens": (SLOW,),
    "test_train_sft.py::test_training_ids_are_the_tokenizers_ids_of_the_whole_text": (SLOW,),
    "test_ask_templates.py::test_every_real_prompt_gets_questions_in_all_five_dimensions": (SLOW,),
    "test_cli.py::test_tiny_model_command_writes_a_loadable_checkpoint": (SLOW,),
    # image-to-video end to end (the in-process reading and the image gate stay fast)
    "test_image_to_video.py::test_the_served_answerer_sends_the_image_first_once_and_the_server_model_sees_it": (SLOW,),
    "test_image_to_video.py::test_score_with_image_end_to_end_records_it_and_refuses_a_bad_one": (SLOW,),
    "test_image_to_video.py::test_the_i2v_rubric_asks_about_the_image_and_scores_its_dimension": (SLOW,),
    "test_image_to_video.py::test_the_service_takes_image_and_image_path_and_refuses_bad_images": (SLOW,),
    "test_image_to_video.py::test_ray_workers_score_the_image_column_as_one_process_does": (SLOW,),
}

# Features the project ships whose tests could skip where a part is missing: with CI=true in the environment
# such a skip is a failure, not a quiet pass; so is any skip for a module that cannot be imported. Keys as in
# TIERS; a browser test (marker) is the browser feature wherever it is.
FEATURES: dict[str, str] = {
    "test_labelstudio.py": "Label Studio", "test_labelstudio_convert.py": "Label Studio",
    "test_ray_batch.py": "Ray", "test_ray_node_loss.py": "Ray",
    "test_answer_openai.py::test_ray_workers_answer_through_the_server": "Ray",
    "test_decode_ahead.py::test_each_ray_worker_decodes_its_lane_ahead_and_the_results_are_those_in_one_process": "Ray",
    "test_answer_openai.py": "the served answerer", "test_serve.py": "the scoring service",
    "test_image_to_video.py": "image-to-video",
    "test_image_to_video.py::test_ray_workers_score_the_image_column_as_one_process_does": "Ray",
    "test_serve_attacks.py": "the scoring service", "test_serve_fuzz.py": "the scoring service",
    "test_annotate.py": "the annotation app", "test_annotate_security.py": "the annotation app",
    "test_rubric_cli.py::test_the_service_scores_with_its_rubric": "the scoring service",
    "test_rubric_cli.py::test_ray_workers_score_with_the_rubric_of_the_run": "Ray",
}
SHIPPED = "with CI=true this skip is a failure (docs/testing.md)"


def _keys(nodeid: str) -> tuple[str, str]:
    """(module, module::test) of a node id, parametrisation left out."""
    path, _, name = nodeid.partition("::")
    module = Path(path).name
    return module, f"{module}::{name.partition('[')[0]}"


def _tier_markers(nodeid: str) -> tuple:
    module, test = _keys(nodeid)
    return TIERS.get(module, ()) + TIERS.get(test, ())


def _feature(nodeid: str, markers=()) -> str | None:
    module, test = _keys(nodeid)
    return FEATURES.get(test) or FEATURES.get(module) or ("the browser pages" if "browser" in markers else None)


def pytest_collection_modifyitems(config, items):
    for item in items:
        for marker in _tier_markers(item.nodeid):
            item.add_marker(marker)
        if {"browser", "page"} & set(getattr(item, "fixturenames", ())):
            item.add_marker("browser")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """With xdist's `--dist loadfile` (scripts/test.sh) a module stays on one worker, so its module fixtures (a
    GRPO run, a service) are built once; here every Ray test also joins one unit, so two Ray clusters never
    start at once on the 2-core machine. (`--dist loadgroup` would read xdist_group marks, but it cannot rename
    node ids under pytest 9.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class RayTogether(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "ray" if _feature(nodeid) == "Ray" else super()._split_scope(nodeid)

    return RayTogether(config, log)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _reason(report) -> str:
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    return reason.removeprefix("Skipped: ")


def _shipped_skip(nodeid: str, reason: str, markers=()) -> str | None:
    """What a skip under CI=true fails for: a shipped feature, or a module that cannot be imported."""
    feature = _feature(nodeid, markers)
    if feature:
        return feature
    return "a required module" if "could not import" in reason else None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI=true a skip (a skip mark, `pytest.skip` in a fixture or test, `importorskip`) of a shipped
    feature's test fails it."""
    report = yield
    if _in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        reason = _reason(report)
        what = _shipped_skip(item.nodeid, reason, {m.name for m in item.iter_markers()})
        if what:
            report.outcome = "failed"
            report.longrepr = f"{SHIPPED}: {what} is shipped; the test skipped: {reason}"
    return report


SKIPPED_MODULES: list[str] = []  # modules of shipped features skipped whole while collected, under CI=true


def pytest_collectreport(report):
    """A shipped feature's module skipped whole while it is collected (a module-level skip or `importorskip`)
    fails the run under CI=true; the other modules still run (a collection error would stop them all). With
    xdist the controller sees the workers' skipped collections here too."""
    if _in_ci() and report.skipped:
        reason = _reason(report)
        what = _shipped_skip(report.nodeid, reason)
        if what:
            SKIPPED_MODULES.append(f"{report.nodeid} ({what}): {reason}")


def pytest_sessionfinish(session, exitstatus):
    if hasattr(session.config, "workerinput"):  # an xdist worker: the controller decides
        return
    if SKIPPED_MODULES and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    if SKIPPED_MODULES:
        terminalreporter.section("skipped modules (CI=true)", red=True)
        for line in SKIPPED_MODULES:
            terminalreporter.line(f"FAILED {line}: {SHIPPED}")


# ---- fixtures -----------------------------------------------------------------------------------------------

def write_video(path: Path, frames: int = 16, size: int = 112, fps: int = 8, codec: str = "mpeg4",
                colour=(220, 30, 30), moving: bool = True) -> Path:
    """A square of `colour` on a grey background, sliding right when `moving`."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = "gif" if path.suffix == ".gif" else None
    with av.open(str(path), "w", format=fmt) as c:
        s = c.add_stream(codec, rate=fps)
        s.width = s.height = size
        s.pix_fmt = "rgb8" if codec == "gif" else "yuv420p"
        for i in range(frames):
            f = np.full((size, size, 3), 40, np.uint8)
            x = 8 + (i * 4 if moving else 0)
            f[size // 3: size // 3 + 20, x:x + 20] = colour
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def _test_shape():
    from fingereval.tiny.model import TinyShape

    # Frames are used at their size (112 px: 16 video tokens a frame pair), not blown up to Qwen's 336-px
    # minimum (144): a training step on the CPU costs a quarter (docs/testing.md).
    return TinyShape(init_std=0.1, video_min_pixels=56 * 56)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A tiny checkpoint whose outputs depend strongly on its inputs (larger init), for equality checks."""
    from fingereval.tiny.model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model", _test_shape(), seed=0)


@pytest.fixture(scope="session")
def red_video(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("vid") / "red.mp4")


@pytest.fixture(scope="session")
def blue_static_video(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("vid") / "blue.mp4", colour=(30, 30, 220), moving=False)


def probe_world(root: Path, n: int, seed: int) -> tuple[Path, Path, Path]:
    """(root, a split probe set of n one-shape videos, a probe-shaped tiny checkpoint) for the tiny-world tests."""
    from fingereval.probes import make_probes, split_probes
    from fingereval.tiny.model import PROBE_SHAPE, build_tiny_model

    probes = make_probes(root / "probes", n, seed=seed, max_entities=1, radius=0.2)
    split_probes(probes.root, held_out=0.25, seed=0)
    return root, probes.root, build_tiny_model(root / "base", PROBE_SHAPE, seed=0)


@contextlib.contextmanager
def local_ray(num_cpus: int = 1):
    """A local Ray cluster for one test: no dashboard, workers' logs kept out of the test's output, and this
    process's import path given to the workers so they import the tests' helper modules (answerers by name)."""
    import ray

    ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join(sys.path)}})
    try:
        yield
    finally:
        ray.shutdown()


@contextlib.contextmanager
def time_limit(seconds: float, what: str):
    """A hang inside the block fails the test after `seconds` instead of hanging the suite.

    For the tests that bound one block; a whole test is bounded with `@pytest.mark.timeout(seconds)`
    (pytest-timeout, which also bounds every test by the `timeout` option in pyproject.toml). Both use the
    SIGALRM timer: the block borrows it and hands back what is left of pytest-timeout's time on the way out."""
    start = time.monotonic()

    def stop(signum, frame):
        if outer and time.monotonic() - start >= outer:  # pytest-timeout's own limit came first
            if callable(previous):
                previous(signum, frame)
        raise TimeoutError(f"{what} ran past {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    outer = signal.getitimer(signal.ITIMER_REAL)[0]
    signal.setitimer(signal.ITIMER_REAL, min(seconds, outer) if outer else seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - start), 0.001))
