"""The AWS half of the offline pipeline: moto runs the synthesized stack, our handlers run in-process."""
